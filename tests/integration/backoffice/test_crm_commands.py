"""The CRM's commands: a site key for a brand's website, and a rule's dry run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from backoffice.crm.automations import create_rule
from backoffice.crm.site_keys import brand_for_site_key
from brokerstack.cli import app
from tests.integration.backoffice.support_crm import ADMIN, add_client, brand_id


@pytest.fixture
def run(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BROKERSTACK_DATABASE_URL", seeded_db_url)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})

    return invoke


def test_a_site_key_is_printed_once_and_names_its_brand(run: Any, seeded_db_url: str) -> None:
    made = run("leads", "site-key", "demo", "--name", "landing pages")
    assert made.exit_code == 0, made.output
    key = made.output.strip()
    with psycopg.connect(seeded_db_url) as conn:
        assert brand_for_site_key(conn, key) == brand_id(conn)
        stored = conn.execute("SELECT name, key_sha256 FROM brand_site_keys").fetchall()
    assert [name for name, _ in stored] == ["landing pages"]
    assert key.encode() not in bytes(stored[0][1])
    unknown = run("leads", "site-key", "nosuch")
    assert unknown.exit_code == 1
    assert "brand nosuch not found" in unknown.output


def test_a_dry_run_lists_the_clients_a_rule_would_hit(run: Any, seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        long_ago = datetime.now(UTC) - timedelta(days=5)
        add_client(conn, "idle@x.example", demo, created_at=long_ago)
        add_client(conn, "fresh@x.example", demo)
        rule = create_rule(
            conn,
            ADMIN,
            demo,
            "Idle",
            "no_login_days",
            {"days": 3},
            24,
            brand_ids=[demo],
            task_subject="Call",
        )
    listed = run("automations", "dry-run", str(rule))
    assert listed.exit_code == 0, listed.output
    assert "idle@x.example" in listed.output
    assert "fresh@x.example" not in listed.output
    assert "1 client(s)" in listed.output
    assert run("automations", "dry-run", str(rule + 1)).exit_code == 1
