"""The officers' review queue, four eyes where a level asks for them, documents kept by their
content, and approvals lapsing when a document expires or the periodic review is due."""

from __future__ import annotations

import hashlib
import stat
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from pydantic import PostgresDsn

from backoffice.audit import Actor
from backoffice.kyc import lapses, review
from backoffice.kyc.documents import store_document
from backoffice.kyc.errors import DecisionRefused, DocumentRefused, NotFound
from backoffice.kyc.levels import client_standing
from brokerstack.errors import ConfigError
from brokerstack.settings import BackofficeSettings, Settings
from tests.integration.backoffice.support_kyc import (
    PNG,
    add_client,
    add_officer,
    application_of,
    scalar,
    upload_identity,
)


@pytest.fixture
def settings(seeded_db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=PostgresDsn(seeded_db_url), data_dir=tmp_path)


def demo_brand(db_url: str) -> int:
    return int(scalar(db_url, "SELECT id FROM brands WHERE code = 'demo'"))


def waiting_client(db_url: str, settings: Settings, email: str) -> tuple[int, int]:
    """A client whose identity documents wait in the queue: (client id, application id)."""
    client = add_client(db_url, email)
    upload_identity(db_url, settings, client)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "UPDATE kyc_applications SET status = 'in_review' WHERE client_id = %s RETURNING id",
            (client,),
        ).fetchone()
    assert row is not None
    return client, int(row[0])


def test_the_queue_is_scoped_to_the_officers_brands(seeded_db_url: str, settings: Settings) -> None:
    client, application = waiting_client(seeded_db_url, settings, "queued@example.com")
    officer = add_officer(seeded_db_url, "officer@example.com")
    brand = demo_brand(seeded_db_url)
    other = int(scalar(seeded_db_url, "INSERT INTO brands (code, name) VALUES ('other', 'Other') "
                                      "RETURNING id"))  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn:
        mine = review.waiting_applications(conn, [brand])
        theirs = review.waiting_applications(conn, [other])
        with pytest.raises(NotFound):
            review.approve(conn, Actor.staff(officer), application, [other])
    assert [(q.application_id, q.client_id, q.documents) for q in mine] == [
        (application, client, 2)
    ]
    assert theirs == []
    assert application_of(seeded_db_url, client)[0] == "in_review"


def test_approval_raises_the_level_and_shows_what_the_next_needs(
    seeded_db_url: str, settings: Settings
) -> None:
    client, application = waiting_client(seeded_db_url, settings, "approve@example.com")
    officer = add_officer(seeded_db_url, "officer@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        decided = review.approve(
            conn, Actor.staff(officer), application, [demo_brand(seeded_db_url)]
        )
        standing = client_standing(conn, client)
    assert (decided.status, decided.pending) == ("approved", False)
    assert (standing.level.level, standing.level.trading, standing.level.withdrawals) == (
        1, True, False)  # fmt: skip
    assert [m.requirement for m in standing.missing] == ["proof_of_address"]
    actor = scalar(seeded_db_url, """SELECT array[actor_type, actor_id] FROM audit_log
                                     WHERE action = 'kyc.application.approved'""")  # fmt: skip
    assert actor == ["staff", str(officer)]
    by = scalar(seeded_db_url, "SELECT staff_user_id FROM crm_events WHERE event_type = "
                               "'kyc.approved' AND client_id = %s", client)  # fmt: skip
    assert by == officer


def test_reject_needs_a_reason_and_request_documents_asks_the_client_again(
    seeded_db_url: str, settings: Settings
) -> None:
    client, application = waiting_client(seeded_db_url, settings, "reject@example.com")
    officer = Actor.staff(add_officer(seeded_db_url, "officer@example.com"))
    brands = [demo_brand(seeded_db_url)]
    with psycopg.connect(seeded_db_url) as conn:
        with pytest.raises(DecisionRefused):
            review.reject(conn, officer, application, brands, reason=" ")
        with pytest.raises(DecisionRefused):
            review.request_documents(conn, officer, application, brands, ["tax_return"], "why")
    assert application_of(seeded_db_url, client)[0] == "in_review"
    with psycopg.connect(seeded_db_url) as conn:
        review.request_documents(conn, officer, application, brands, ["selfie"], "blurred")
    assert application_of(seeded_db_url, client) == ("resubmission_requested", "RETRY", ["selfie"])
    with psycopg.connect(seeded_db_url) as conn:
        review.reject(conn, officer, application, brands, reason="document forged", final=True)
    assert application_of(seeded_db_url, client)[:2] == ("rejected", "FINAL")
    assert int(scalar(seeded_db_url, "SELECT kyc_level FROM clients WHERE id = %s", client)) == 0


def test_a_second_officer_must_confirm_where_the_level_asks(
    seeded_db_url: str, settings: Settings
) -> None:
    client, application = waiting_client(seeded_db_url, settings, "foureyes@example.com")
    first = Actor.staff(add_officer(seeded_db_url, "first@example.com"))
    second = Actor.staff(add_officer(seeded_db_url, "second@example.com"))
    brands = [demo_brand(seeded_db_url)]
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE kyc_levels SET second_approver = true WHERE level = 1")
        proposed = review.approve(conn, first, application, brands)
    assert (proposed.status, proposed.pending) == ("in_review", True)
    with psycopg.connect(seeded_db_url) as conn:
        queued = review.waiting_applications(conn, brands)
        with pytest.raises(DecisionRefused):
            review.approve(conn, first, application, brands)
    assert [(q.pending_decision, q.pending_decided_by) for q in queued] == [
        ("approve", int(first.id))]  # fmt: skip
    assert int(scalar(seeded_db_url, "SELECT kyc_level FROM clients WHERE id = %s", client)) == 0
    with psycopg.connect(seeded_db_url) as conn:
        confirmed = review.approve(conn, second, application, brands)
    assert (confirmed.status, confirmed.pending, confirmed.decision_id) == (
        "approved", False, proposed.decision_id)  # fmt: skip
    assert int(scalar(seeded_db_url, "SELECT kyc_level FROM clients WHERE id = %s", client)) == 1
    assert scalar(seeded_db_url, "SELECT confirmed_by FROM kyc_decisions") == int(second.id)


def test_documents_are_kept_by_content_with_their_digest_and_bad_ones_refused(
    seeded_db_url: str, settings: Settings, tmp_path: Path
) -> None:
    client = add_client(seeded_db_url, "docs@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        stored = store_document(conn, settings, client, "passport", "front", "p.png", PNG, "DE")
        for kind, side, data in (
            ("passport", "front", b"GIF89a...."),
            ("passport", "front", PNG + b"x" * 11 * 2**20),
            ("tax_return", "front", PNG),
            ("selfie", "front", PNG + b"y"),  # a selfie has no side: it would never count
            ("passport", "back", PNG + b"z"),  # a passport shows its photo page only
        ):
            with pytest.raises(DocumentRefused):
                store_document(conn, settings, client, kind, side, "x", data)
    path = tmp_path / "kyc-documents" / hashlib.sha256(PNG).hexdigest()
    assert path.read_bytes() == PNG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = scalar(seeded_db_url, "SELECT encode(sha256, 'hex') FROM kyc_documents")
    assert kept == stored.sha256 == hashlib.sha256(PNG).hexdigest()
    assert int(scalar(seeded_db_url, "SELECT count(*) FROM kyc_documents")) == 1
    ftp = settings.model_copy(update={"backoffice": BackofficeSettings(documents_url="ftp://x")})
    with psycopg.connect(seeded_db_url) as conn, pytest.raises(ConfigError, match="S3 bucket"):
        store_document(conn, ftp, client, "selfie", None, "s.png", PNG)


def test_an_overdue_review_or_an_expired_document_sends_the_client_back_to_review(
    seeded_db_url: str, settings: Settings
) -> None:
    overdue, first = waiting_client(seeded_db_url, settings, "overdue@example.com")
    expired, second = waiting_client(seeded_db_url, settings, "expired@example.com")
    officer = Actor.staff(add_officer(seeded_db_url, "officer@example.com"))
    brands = [demo_brand(seeded_db_url)]
    today = date(2026, 3, 2)
    with psycopg.connect(seeded_db_url) as conn:
        review.approve(conn, officer, first, brands)
        review.approve(conn, officer, second, brands)
        conn.execute("UPDATE kyc_applications SET review_due_on = %s WHERE id = %s",
                     (today, first))  # fmt: skip
        passport = conn.execute("SELECT id FROM kyc_documents WHERE application_id = %s "
                                "AND kind = 'passport'", (second,)).fetchone()  # fmt: skip
        assert passport is not None
        lapses.set_document_expiry(conn, officer, passport[0], brands, today - timedelta(days=1))
    with psycopg.connect(seeded_db_url) as conn:
        assert lapses.lapse_due(conn, today) == 2
    with psycopg.connect(seeded_db_url) as conn:
        assert lapses.lapse_due(conn, today) == 0  # each lapse once
        queued = review.waiting_applications(conn, brands)
        standing = client_standing(conn, expired, today)
    levels = scalar(seeded_db_url, "SELECT array_agg(kyc_level ORDER BY id) FROM clients "
                                   "WHERE id = ANY(%s)", [overdue, expired])  # fmt: skip
    assert levels == [0, 0]
    assert [(q.client_id, q.documents) for q in queued] == [(overdue, 2)]
    assert application_of(seeded_db_url, expired)[0] == "created"
    assert [m.requirement for m in standing.missing] == ["identity"]
    assert int(scalar(seeded_db_url, "SELECT count(*) FROM audit_log "
                                     "WHERE action = 'kyc.application.lapsed'")) == 2  # fmt: skip
