"""``audit verify`` finds a record changed behind the trigger's back and names it;
``audit export`` writes one client's whole trail with the chain's hashes, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from backoffice.audit import Actor, record
from backoffice.audit.verify import verify_chain
from brokerstack.cli import app
from tests.integration.backoffice.support_staff import add_client, brand_id


@pytest.fixture
def run(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BROKERSTACK_DATABASE_URL", seeded_db_url)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args), env={"COLUMNS": "300"})

    return invoke


def _trail(db_url: str) -> tuple[int, int, list[int]]:
    """Two clients; audit records about the first, its account, and the second."""
    demo = brand_id(db_url, "demo")
    first = add_client(db_url, demo, "first@example.com")
    second = add_client(db_url, demo, "second@example.com")
    staff, system = Actor.staff(1), Actor.system("kyc")
    with psycopg.connect(db_url) as conn:
        group = conn.execute("SELECT id FROM account_groups WHERE code = 'demo-usd'").fetchone()
        assert group is not None
        account = conn.execute(
            """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency)
               VALUES (81000001, %s, %s, 'demo', 'USD') RETURNING id""",
            (first, group[0]),
        ).fetchone()
        assert account is not None
        seqs = [
            record(conn, staff, "client.update", "client", first, {"status": "active"},
                   {"status": "suspended"}),
            record(conn, staff, "account.leverage", "trading_account", account[0],
                   {"leverage": 100}, {"leverage": 30}),
            record(conn, system, "kyc.level", "client", second, {"kyc_level": 0},
                   {"kyc_level": 1}),
            record(conn, system, "case.open", "aml_case", 7, None, {"client_id": first}),
        ]  # fmt: skip
    return first, second, seqs


def test_a_row_changed_in_sql_is_found_and_named(seeded_db_url: str, run: Any) -> None:
    _, _, seqs = _trail(seeded_db_url)
    intact = run("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "intact: 4 records" in intact.output

    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable")
        conn.execute(
            """UPDATE audit_log SET after = '{"leverage": 500}'
               WHERE chain_seq = %s""",
            (seqs[1],),
        )
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_immutable")
        changed = conn.execute(
            "SELECT id FROM audit_log WHERE chain_seq = %s", (seqs[1],)
        ).fetchone()
        broken = verify_chain(conn)
    assert changed is not None
    assert broken is not None
    assert (broken.chain_seq, broken.id) == (seqs[1], changed[0])
    assert (broken.action, broken.entity_type) == ("account.leverage", "trading_account")

    failed = run("audit", "verify")
    assert failed.exit_code == 1
    assert f"audit record {changed[0]} (chain #{seqs[1]}, account.leverage" in failed.output


def test_the_export_holds_the_clients_whole_trail_and_no_other(
    seeded_db_url: str, run: Any, tmp_path: Path
) -> None:
    first, _, seqs = _trail(seeded_db_url)
    out = tmp_path / "trail.jsonl"
    result = run("audit", "export", "--client", str(first), "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["chain_seq"] for line in lines] == [seqs[0], seqs[1], seqs[3]]
    assert lines[1]["after"] == {"leverage": 30}
    # each line carries the chain: its prev_hash is the hash before it
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    assert all(len(line["hash"]) == 64 for line in lines)

    unknown = run("audit", "export", "--client", "999999")
    assert unknown.exit_code == 1
    assert "client 999999 not found" in unknown.output
