"""The command line's shape: the base stays free of product packages, and a command starts
without loading what only some commands need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_a_command_does_not_load_quickfix() -> None:
    # quickfix costs about 120 MB and a second or two; only `up` with configured LPs needs it
    assert "quickfix" not in _modules_after("import brokerstack.cli")


def test_the_base_imports_no_other_product_package() -> None:
    base = (
        "import brokerstack.settings, brokerstack.streams, brokerstack.errors, "
        "brokerstack.services, brokerstack.supervisor, brokerstack.stack_state, brokerstack.times"
    )
    loaded = _modules_after(base)
    products = ("execution", "ingest", "api", "warehouse", "pipelines", "dashboards", "backoffice")
    assert sorted(m for m in loaded if m.split(".")[0] in products) == []
    assert "brokerstack.cli" not in loaded
