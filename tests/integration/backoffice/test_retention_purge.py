"""The retention purge removes only what has expired — KYC documents and communications of
clients whose relationship ended longer ago than the brand's period — and lists every row it
removed; a dry run removes nothing; a second run finds nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from backoffice.audit.retention import purge
from brokerstack.cli import app
from tests.integration.backoffice.support_staff import add_client, brand_id

NOW = datetime.now(UTC)
YEAR = timedelta(days=365.25)


def _client_with_records(db_url: str, email: str, status: str, last_active: datetime) -> int:
    """A client last active at ``last_active``: one KYC document, an e-mail and a system
    event on the timeline."""
    client = add_client(db_url, brand_id(db_url, "demo"), email)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE clients SET status = %s, updated_at = %s WHERE id = %s",
                     (status, last_active, client))  # fmt: skip
        application = conn.execute(
            "INSERT INTO kyc_applications (client_id, provider, target_level) "
            "VALUES (%s, 'sim', 1) RETURNING id",
            (client,),
        ).fetchone()
        assert application is not None
        conn.execute(
            "INSERT INTO kyc_documents (application_id, kind, storage_ref, sha256) "
            "VALUES (%s, 'passport', %s, %s)",
            (application[0], f"kyc/{client}/passport.jpg", bytes(32)),
        )
        for channel in ("email", "system"):
            conn.execute(
                "INSERT INTO crm_events (occurred_at, client_id, event_type, channel) "
                "VALUES (%s, %s, 'message', %s)",
                (last_active - timedelta(days=30), client, channel),
            )
    return client


def _counts(db_url: str, client: int) -> tuple[int, int]:
    with psycopg.connect(db_url) as conn:
        documents = conn.execute(
            "SELECT count(*) FROM kyc_documents d JOIN kyc_applications k "
            "ON k.id = d.application_id WHERE k.client_id = %s",
            (client,),
        ).fetchone()
        events = conn.execute(
            "SELECT count(*) FROM crm_events WHERE client_id = %s", (client,)
        ).fetchone()
    assert documents is not None
    assert events is not None
    return int(documents[0]), int(events[0])


def test_only_expired_records_go_and_each_is_recorded(seeded_db_url: str) -> None:
    # the demo brand keeps KYC documents and communications 5 years (reference data)
    expired = _client_with_records(seeded_db_url, "gone@example.com", "closed", NOW - 6 * YEAR)
    recent = _client_with_records(seeded_db_url, "left@example.com", "closed", NOW - 4 * YEAR)
    active = _client_with_records(seeded_db_url, "stays@example.com", "active", NOW - 9 * YEAR)

    with psycopg.connect(seeded_db_url) as conn:
        listed = purge(conn, NOW, dry_run=True)
    assert listed.counts() == {"kyc_documents": 1, "communications": 1}
    assert _counts(seeded_db_url, expired) == (1, 2)

    with psycopg.connect(seeded_db_url) as conn:
        report = purge(conn, NOW)
    assert {(r.kind, r.client_id) for r in report.removed} == {
        ("kyc_documents", expired),
        ("communications", expired),
    }
    assert _counts(seeded_db_url, expired) == (0, 1)  # the system event is not a message
    assert _counts(seeded_db_url, recent) == (1, 2)
    assert _counts(seeded_db_url, active) == (1, 2)
    with psycopg.connect(seeded_db_url) as conn:
        purged = conn.execute(
            "SELECT kind, client_id, entity_type, detail->>'storage_ref' FROM retention_purges "
            "ORDER BY kind"
        ).fetchall()
        audited = conn.execute(
            "SELECT after->>'kind' FROM audit_log WHERE action = 'retention.purge' "
            "AND entity_type = 'client' AND entity_id = %s ORDER BY 1",
            (str(expired),),
        ).fetchall()
        again = purge(conn, NOW)
    assert purged == [
        ("communications", expired, "crm_event", None),
        ("kyc_documents", expired, "kyc_document", f"kyc/{expired}/passport.jpg"),
    ]
    assert audited == [("communications",), ("kyc_documents",)]
    assert again.removed == []
    assert set(report.kept) == {"audit", "transactions"}


def test_the_command_lists_on_a_dry_run_and_removes_nothing(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expired = _client_with_records(seeded_db_url, "gone@example.com", "closed", NOW - 6 * YEAR)
    monkeypatch.setenv("BROKERSTACK_DATABASE_URL", seeded_db_url)
    result: Any = CliRunner().invoke(app, ["retention", "purge", "--dry-run"],
                                     env={"COLUMNS": "300"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "would remove kyc_documents: kyc_document" in result.output
    assert "would remove 1 communications, 1 kyc_documents" in result.output
    assert "not purged, audit" in result.output
    assert _counts(seeded_db_url, expired) == (1, 2)
