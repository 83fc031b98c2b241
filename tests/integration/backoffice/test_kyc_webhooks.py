"""KYC webhooks end to end: the real simulator process signs and delivers them over HTTP to the
real api (uvicorn), the inbox keeps them, the worker's job applies them.

Forged and changed bodies are refused with nothing kept; replays, duplicates, reordering and
our own outage all end in the right state, applied once, every raw event kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from backoffice.kyc import signatures
from backoffice.kyc.documents import store_document
from backoffice.kyc.errors import DecisionRefused
from backoffice.kyc.provider import KycProvider
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from tests.integration.backoffice.support_kyc import (
    PDF,
    PNG,
    Simulator,
    add_client,
    api_on,
    application_of,
    drain,
    kyc_settings,
    scalar,
    simulator,
    submit,
    upload_identity,
    wait_until,
)

WEBHOOK = "/v1/webhooks/kyc/sumsub"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def sim(port: int, tmp_path: Path) -> Iterator[Simulator]:
    with simulator(f"http://127.0.0.1:{port}{WEBHOOK}", tmp_path) as running:
        yield running


@pytest.fixture
def settings(seeded_db_url: str, redis_url: str, tmp_path: Path, sim: Simulator) -> Settings:
    return kyc_settings(seeded_db_url, redis_url, tmp_path, sim.url)


@pytest.fixture
def api(settings: Settings, port: int, redis_client: redis.Redis) -> Iterator[str]:
    del redis_client
    with api_on(settings, port) as base:
        yield base


def inbox_rows(db_url: str) -> int:
    return int(scalar(db_url, "SELECT count(*) FROM webhook_inbox"))


def audits(db_url: str, action: str) -> int:
    return int(scalar(db_url, "SELECT count(*) FROM audit_log WHERE action = %s", action))


def level_of(db_url: str, client_id: int) -> int:
    return int(scalar(db_url, "SELECT kyc_level FROM clients WHERE id = %s", client_id))


def test_green_review_approves_and_raises_the_level_once(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    client = add_client(seeded_db_url, "green@example.com")
    upload_identity(seeded_db_url, settings, client)
    applicant = submit(seeded_db_url, settings, client)
    sim.review(applicant, "GREEN")
    sim.wait_delivered(3)  # created, pending, reviewed
    assert drain(seeded_db_url) == 3
    assert application_of(seeded_db_url, client)[0] == "approved"
    assert level_of(seeded_db_url, client) == 1
    assert audits(seeded_db_url, "kyc.application.approved") == 1
    assert audits(seeded_db_url, "kyc.level") == 1
    kept = scalar(seeded_db_url, """SELECT count(*) FROM kyc_events e JOIN webhook_inbox w
                                    ON w.id = e.webhook_inbox_id""")  # fmt: skip
    assert kept == inbox_rows(seeded_db_url) == 3
    timeline = scalar(seeded_db_url, """SELECT array_agg(event_type ORDER BY id) FROM crm_events
                                        WHERE client_id = %s""", client)  # fmt: skip
    assert {"kyc.approved", "kyc.level_changed"} <= set(timeline)
    assert scalar(seeded_db_url, "SELECT audit_log_first_broken()") is None


def test_the_stacks_quick_check_approves_without_an_officer(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    # `brokerstack up` runs the simulator passing every check at once: pending and reviewed
    # leave within the same millisecond, and the review must still count
    sim.configure(rule="green")
    client = add_client(seeded_db_url, "quick@example.com")
    upload_identity(seeded_db_url, settings, client)
    submit(seeded_db_url, settings, client)
    sim.wait_delivered(3)
    assert drain(seeded_db_url) == 3
    assert application_of(seeded_db_url, client)[0] == "approved"
    assert level_of(seeded_db_url, client) == 1


def test_a_forged_or_changed_body_is_refused_and_nothing_is_kept_a_replay_adds_nothing(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    client = add_client(seeded_db_url, "forged@example.com")
    upload_identity(seeded_db_url, settings, client)
    applicant = submit(seeded_db_url, settings, client)
    sim.review(applicant, "RED", "RETRY", ["BAD_PROOF_OF_IDENTITY"])
    sim.wait_delivered(3)
    raw, digest = scalar(seeded_db_url, """SELECT array[raw_body, convert_to(signature, 'UTF8')]
                                           FROM webhook_inbox WHERE event_type =
                                           'applicantReviewed'""")  # fmt: skip
    raw, digest = bytes(raw), bytes(digest).decode()
    before = inbox_rows(seeded_db_url)
    green = raw.replace(b'"RED"', b'"GREEN"')
    assert green != raw
    forged = json.dumps({**json.loads(green), "correlationId": "forged"}).encode()
    with httpx.Client(base_url=api) as http:

        def post(body: bytes, digest_header: str | None) -> httpx.Response:
            headers = {"Content-Type": "application/json"}
            if digest_header is not None:
                headers[signatures.DIGEST_HEADER] = digest_header
            return http.post(WEBHOOK, content=body, headers=headers)

        changed = post(green, digest)  # the provider's digest, the body changed after signing
        wrong_key = post(forged, signatures.payload_digest("not-the-secret", forged))
        unsigned = post(forged, None)
        replayed = post(raw, digest)
    assert [r.status_code for r in (changed, wrong_key, unsigned)] == [401, 401, 401]
    assert changed.json()["error"]["code"] == "invalid_signature"
    assert (replayed.status_code, replayed.json()["status"]) == (200, "duplicate")
    assert inbox_rows(seeded_db_url) == before
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client) == (
        "resubmission_requested", "RETRY", ["BAD_PROOF_OF_IDENTITY"])  # fmt: skip
    assert level_of(seeded_db_url, client) == 0


def test_reviewed_before_pending_ends_reviewed(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    client = add_client(seeded_db_url, "reversed@example.com")
    upload_identity(seeded_db_url, settings, client)
    sim.configure(hold=True)
    applicant = submit(seeded_db_url, settings, client)
    sim.review(applicant, "GREEN")
    assert sim.release("reverse") == 3
    attempts = sim.wait_delivered(3)
    assert [a["type"] for a in attempts] == ["applicantReviewed", "applicantPending",
                                              "applicantCreated"]  # fmt: skip
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "approved"
    assert level_of(seeded_db_url, client) == 1
    outcomes = scalar(seeded_db_url, "SELECT array_agg(outcome ORDER BY id) FROM kyc_events")
    assert outcomes == ["applied", "final", "final"]
    assert inbox_rows(seeded_db_url) == 3


def test_a_late_pending_after_retry_does_not_reopen_the_review_a_resubmission_does(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    client = add_client(seeded_db_url, "retry@example.com")
    upload_identity(seeded_db_url, settings, client)
    sim.configure(hold=True)
    applicant = submit(seeded_db_url, settings, client)
    sim.review(applicant, "RED", "RETRY", ["SELFIE_MISMATCH"])
    sim.release("reverse")  # the retry first, the old pending after it
    sim.wait_delivered(3)
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "resubmission_requested"
    sim.configure(hold=False)
    with psycopg.connect(seeded_db_url) as conn:
        store_document(conn, settings, client, "selfie", None, "selfie-2.pdf", PDF)
    submit(seeded_db_url, settings, client)
    sim.review(applicant, "GREEN")
    sim.wait_delivered(5)
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "approved"
    assert level_of(seeded_db_url, client) == 1


def test_final_rejection_is_for_good(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    client = add_client(seeded_db_url, "final@example.com")
    upload_identity(seeded_db_url, settings, client)
    applicant = submit(seeded_db_url, settings, client)
    sim.review(applicant, "RED", "FINAL", ["FORGERY"])
    sim.wait_delivered(3)
    sim.review(applicant, "GREEN")  # the provider changes its mind later: we do not
    sim.wait_delivered(4)
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client) == ("rejected", "FINAL", ["FORGERY"])
    assert level_of(seeded_db_url, client) == 0
    with pytest.raises(DecisionRefused):
        upload_identity(seeded_db_url, settings, client)


def test_duplicate_deliveries_are_kept_once_and_applied_once(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    client = add_client(seeded_db_url, "twice@example.com")
    upload_identity(seeded_db_url, settings, client)
    sim.configure(duplicates=3)
    applicant = submit(seeded_db_url, settings, client)
    sim.review(applicant, "GREEN")
    attempts = sim.wait_delivered(9)
    assert sum(1 for a in attempts if a["status"] == 200) == 9
    assert inbox_rows(seeded_db_url) == 3
    drain(seeded_db_url)
    assert int(scalar(seeded_db_url, "SELECT count(*) FROM kyc_events")) == 3
    assert audits(seeded_db_url, "kyc.application.approved") == 1
    assert audits(seeded_db_url, "kyc.level") == 1
    assert level_of(seeded_db_url, client) == 1


def test_the_provider_retries_through_our_outage_and_the_event_is_applied_once(
    seeded_db_url: str, settings: Settings, port: int, sim: Simulator, redis_client: redis.Redis
) -> None:
    del redis_client
    client = add_client(seeded_db_url, "outage@example.com")
    upload_identity(seeded_db_url, settings, client)
    applicant = submit(seeded_db_url, settings, client)  # nothing listens at the callback yet
    sim.review(applicant, "GREEN")

    def failed() -> int:
        return sum(1 for a in sim.deliveries()["attempts"] if a["status"] is None)

    wait_until(lambda: failed() >= 3, 30, "failed deliveries")
    assert inbox_rows(seeded_db_url) == 0
    with api_on(settings, port):
        attempts = sim.wait_delivered(3)
    assert sum(1 for a in attempts if a["status"] == 200) == 3
    assert inbox_rows(seeded_db_url) == 3
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "approved"
    assert audits(seeded_db_url, "kyc.level") == 1
    assert level_of(seeded_db_url, client) == 1


def test_a_client_sends_the_documents_from_the_portal_and_the_green_review_raises_the_level(
    seeded_db_url: str, sim: Simulator, api: str
) -> None:
    email, password = "portal.kyc@example.com", "a long enough password"
    with httpx.Client(base_url=api) as http:
        registered = http.post("/v1/portal/register", json={
            "brand": "demo", "email": email, "password": password, "full_name": "Pia Portal",
            "country": "DE", "birth_date": "1988-02-03", "language": "de"})  # fmt: skip
        assert registered.status_code == 201, registered.text
        client = registered.json()["client_id"]
        tokens = http.post("/v1/auth/token", data={"username": email, "password": password})
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}

        def upload(kind: str, side: str | None, data: bytes) -> None:
            form = {"kind": kind} | ({"side": side} if side else {})
            sent = http.post("/v1/portal/kyc/documents", data=form, headers=headers,
                             files={"file": (f"{kind}.png", data, "image/png")})  # fmt: skip
            assert sent.status_code == 201, sent.text

        upload("passport", "front", PNG)
        early = http.post("/v1/portal/kyc/submit", headers=headers)
        assert early.status_code == 409, early.text
        assert early.json()["error"]["details"]["missing"] == ["selfie"]
        assert sim.deliveries()["attempts"] == []  # nothing went to the provider

        upload("selfie", None, PNG + b"s")
        sent = http.post("/v1/portal/kyc/submit", headers=headers)
        assert sent.status_code == 200, sent.text
        assert sent.json()["application_status"] == "submitted"
        applicant = scalar(seeded_db_url, "SELECT provider_applicant_id FROM kyc_applications"
                           " WHERE client_id = %s", client)  # fmt: skip
        sim.review(applicant, "GREEN")
        sim.wait_delivered(3)
        assert drain(seeded_db_url) == 3
        status = http.get("/v1/portal/kyc", headers=headers).json()
    assert status["application_status"] == "approved"
    assert status["level"]["level"] == level_of(seeded_db_url, client) == 1
    assert status["level"]["live_accounts"] is True


def test_proof_of_address_reuses_the_applicant_and_a_late_identity_event_decides_nothing(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    client = add_client(seeded_db_url, "address@example.com")
    upload_identity(seeded_db_url, settings, client)
    applicant = submit(seeded_db_url, settings, client)
    sim.review(applicant, "GREEN")
    sim.wait_delivered(3)
    drain(seeded_db_url)
    assert level_of(seeded_db_url, client) == 1
    identity_event = bytes(
        scalar(
            seeded_db_url,
            """SELECT raw_body FROM webhook_inbox
                                                     WHERE event_type = 'applicantReviewed'""",
        )
    )

    # the next level: the provider keeps one applicant per client, and the second
    # submission moves it to the proof-of-address level instead of creating another
    with psycopg.connect(seeded_db_url) as conn:
        store_document(conn, settings, client, "proof_of_address", None, "bill.pdf", PDF)
    assert submit(seeded_db_url, settings, client) == applicant
    assert sim.applicant(applicant)["levelName"] == scalar(
        seeded_db_url, "SELECT name FROM kyc_levels WHERE level = 2 LIMIT 1"
    )
    sim.wait_delivered(4)  # + pending (at the new level)
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "in_review"

    # an identity-level GREEN sent again later (another event id, a later time) is about the
    # level-1 application: it must not approve the address check
    late = json.loads(identity_event)
    late.update(correlationId="late-identity", createdAtMs="2099-01-01 00:00:00.000",
                createdAt="2099-01-01 00:00:00+0000")  # fmt: skip
    body = json.dumps(late).encode()
    secret = settings.backoffice.kyc_webhook_secret.get_secret_value()
    with httpx.Client(base_url=api) as http:
        answer = http.post(WEBHOOK, content=body, headers={
            "Content-Type": "application/json",
            signatures.DIGEST_HEADER: signatures.payload_digest(secret, body)})  # fmt: skip
    assert answer.status_code == 200
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "in_review"
    assert level_of(seeded_db_url, client) == 1

    sim.review(applicant, "GREEN")
    sim.wait_delivered(5)
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "approved"
    assert level_of(seeded_db_url, client) == 2
    statuses = scalar(seeded_db_url, """SELECT array_agg(status ORDER BY id) FROM kyc_applications
                                        WHERE client_id = %s""", client)  # fmt: skip
    assert statuses == ["approved", "approved"]


def test_an_applicant_created_by_a_lost_call_is_found_and_used(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    # our first submission's call created the applicant, then its transaction rolled back:
    # the provider refuses a second applicant, and the next submission finds the first
    client = add_client(seeded_db_url, "lost@example.com")
    with KycProvider.from_settings(settings) as provider:
        orphan = provider.create_applicant(str(client), "some-other-level").id
    upload_identity(seeded_db_url, settings, client)
    assert submit(seeded_db_url, settings, client) == orphan
    level_one = scalar(seeded_db_url, "SELECT name FROM kyc_levels WHERE level = 1 LIMIT 1")
    assert sim.applicant(orphan)["levelName"] == level_one
    sim.review(orphan, "GREEN")
    sim.wait_delivered(3)
    drain(seeded_db_url)
    assert (application_of(seeded_db_url, client)[0], level_of(seeded_db_url, client)) == (
        "approved", 1)  # fmt: skip


def test_the_next_level_gets_a_new_applicant_when_the_provider_lost_the_first(
    seeded_db_url: str, settings: Settings, sim: Simulator, api: str
) -> None:
    # the stack's KYC simulator restarted (a vendor's sandbox reset, an applicant deleted on its
    # side): moving the known applicant answers 404, and the client must still reach level 2
    client = add_client(seeded_db_url, "forgotten@example.com")
    upload_identity(seeded_db_url, settings, client)
    first = submit(seeded_db_url, settings, client)
    sim.review(first, "GREEN")
    sim.wait_delivered(3)
    drain(seeded_db_url)
    assert level_of(seeded_db_url, client) == 1
    sim.http.delete(f"/_sim/applicants/{first}").raise_for_status()

    with psycopg.connect(seeded_db_url) as conn:
        store_document(conn, settings, client, "proof_of_address", None, "bill.pdf", PDF)
    second = submit(seeded_db_url, settings, client)
    assert second != first
    assert sim.applicant(second)["levelName"] == scalar(
        seeded_db_url, "SELECT name FROM kyc_levels WHERE level = 2 LIMIT 1"
    )
    sim.wait_delivered(5)  # + created and pending of the new applicant
    sim.review(second, "GREEN")
    sim.wait_delivered(6)
    drain(seeded_db_url)
    assert application_of(seeded_db_url, client)[0] == "approved"
    assert level_of(seeded_db_url, client) == 2
