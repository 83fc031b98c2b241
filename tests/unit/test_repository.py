"""What a newcomer relies on in the repository: the license, the hooks, the contributor guide
and the changelog say what the project's own files say."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML (locked, via dagster) ships no hints

ROOT = Path(__file__).resolve().parents[2]

# The headings of the Apache License 2.0, in order, as the text at apache.org spells them.
APACHE_HEADINGS = [
    "Apache License",
    "Version 2.0, January 2004",
    "http://www.apache.org/licenses/",
    "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
    "1. Definitions.",
    "2. Grant of Copyright License.",
    "3. Grant of Patent License.",
    "4. Redistribution.",
    "5. Submission of Contributions.",
    "6. Trademarks.",
    "7. Disclaimer of Warranty.",
    "8. Limitation of Liability.",
    "9. Accepting Warranty or Additional Liability.",
    "END OF TERMS AND CONDITIONS",
    "APPENDIX: How to apply the Apache License to your work.",
]


def text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def flat(value: str) -> str:
    """Whitespace as one space, so a phrase wrapped across lines still matches."""
    return " ".join(value.split())


def pyproject() -> dict[str, Any]:
    return tomllib.loads(text("pyproject.toml"))


def test_license_is_the_apache_2_text_in_order() -> None:
    license_text = text("LICENSE")
    position = 0
    for heading in APACHE_HEADINGS:
        found = license_text.find(heading, position)
        assert found >= 0, f"LICENSE lacks {heading!r} (or has it out of order)"
        position = found + len(heading)
    assert "WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND" in license_text


def test_the_notice_names_the_copyright_holder() -> None:
    assert "Copyright 2026 The brokerstack authors" in text("NOTICE")


def test_pyproject_declares_the_license_of_the_license_file() -> None:
    assert pyproject()["project"]["license"] == "Apache-2.0"


def hooks() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(text(".pre-commit-config.yaml"))
    found: dict[str, dict[str, Any]] = {}
    for repo in config["repos"]:
        assert repo["repo"] == "local"
        for hook in repo["hooks"]:
            assert hook["language"] == "system", hook["id"]
            found[hook["entry"]] = hook
    return found


def test_pre_commit_runs_ruff_mypy_and_lint_imports_in_the_locked_environment() -> None:
    entries = hooks()
    wanted = [
        "uv run --frozen ruff format --check",
        "uv run --frozen ruff check",
        "uv run --frozen mypy",
        "uv run --frozen lint-imports",
    ]
    for command in wanted:
        assert any(entry.startswith(command) for entry in entries), command
    # [tool.mypy] names the packages, and lint-imports checks the whole graph: no file arguments
    for command in ("uv run --frozen mypy", "uv run --frozen lint-imports"):
        assert entries[command].get("pass_filenames") is False, command


def makefile_targets() -> dict[str, list[str]]:
    """Each target of the Makefile and its recipe's commands, with $(UV) read as uv."""
    targets: dict[str, list[str]] = {}
    recipe: list[str] | None = None
    for line in text("Makefile").splitlines():
        rule = re.match(r"^([^\s#.:=][^:=]*?)\s*:(?!=)", line)  # not .PHONY, not VAR :=
        if rule:
            recipe = targets.setdefault(rule.group(1), [])
        elif line.startswith("\t") and recipe is not None:
            recipe.append(line.strip().replace("$(UV)", "uv"))
        elif not line.startswith("\t"):
            recipe = None
    return targets


def test_contributing_names_every_make_target_and_what_it_runs() -> None:
    guide = flat(text("CONTRIBUTING.md"))
    targets = makefile_targets()
    assert {"up", "test"} <= targets.keys()
    for target, commands in targets.items():
        if re.fullmatch(r"[\w-]+", target):  # a name to type, not a file such as uv's
            assert f"make {target}" in guide, target
        for command in commands:
            assert flat(command) in guide, command


def test_contributing_explains_every_import_contract() -> None:
    guide = flat(text("CONTRIBUTING.md"))
    contracts = pyproject()["tool"]["importlinter"]["contracts"]
    assert contracts
    for contract in contracts:
        assert flat(contract["name"]) in guide, contract["name"]


def test_changelog_has_an_unreleased_section_and_one_for_this_version() -> None:
    headings = re.findall(r"^## \[([^\]]+)\]", text("CHANGELOG.md"), flags=re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert pyproject()["project"]["version"] in headings
