"""Clients' self-service through the portal routes: registering with a brand, the mailed
verification and reset links, the profile and password, KYC uploads and standing, and opening
demo and live accounts (a demo account trades on the real execution service)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from backoffice.audit import Actor
from backoffice.kyc import applications
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from tests.integration.api.conftest import make_settings
from tests.integration.api.servers import serve, trading_processes
from tests.integration.api.through_stack import SYMBOL, wait_for_price

PASSWORD = "a long enough passphrase"
DOCUMENT_LIMIT = 4096
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 200


def form(**changes: Any) -> dict[str, Any]:
    body = {
        "brand": "demo",
        "email": "new.client@example.com",
        "password": PASSWORD,
        "full_name": "Jana Nováková",
        "country": "CZ",
        "birth_date": "1990-04-30",
        "language": "en",
    }
    body.update(changes)
    return body


def scalar(db_url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def mailed_token(db_url: str, email: str, template: str) -> str:
    """The token of the latest link mailed to ``email`` with ``template``."""
    body = scalar(
        db_url,
        "SELECT body_text FROM messages WHERE recipient = %s AND template_key = %s "
        "ORDER BY id DESC LIMIT 1",
        email,
        template,
    )
    assert body is not None, f"no {template} mail to {email}"
    found = re.search(r"token=([A-Za-z0-9_-]+)", body)
    assert found is not None, body
    return found.group(1)


def login(api: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    response: httpx.Response = api.post(
        "/v1/auth/token", data={"username": email, "password": password}
    )
    return response


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def portal_settings(db_url: str, redis_url: str, folder: Path) -> Settings:
    settings = make_settings(db_url, redis_url, folder, timeout=10)
    office = settings.backoffice.model_copy(
        update={"documents_max_bytes": DOCUMENT_LIMIT, "public_url": "https://portal.example"}
    )
    return settings.model_copy(update={"backoffice": office})


@pytest.fixture
def portal(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[TestClient]:
    del redis_client
    with TestClient(create_app(portal_settings(seeded_db_url, redis_url, tmp_path))) as client:
        yield client


def registered(api: TestClient, db_url: str, email: str, verify: bool = True) -> dict[str, str]:
    """A new client through the portal, logged in; their bearer header."""
    response = api.post("/v1/portal/register", json=form(email=email))
    assert response.status_code == 201, response.text
    if verify:
        token = mailed_token(db_url, email, "verification")
        assert api.post("/v1/portal/verify-email", json={"token": token}).status_code == 200
    tokens = login(api, email)
    assert tokens.status_code == 200, tokens.text
    return bearer(tokens.json())


# --- registration ---------------------------------------------------------------------------


def test_registration_mails_a_link_that_verifies_once(
    portal: TestClient, seeded_db_url: str
) -> None:
    created = portal.post("/v1/portal/register", json=form())
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    row = None
    with psycopg.connect(seeded_db_url) as conn:
        row = conn.execute(
            "SELECT first_name, last_name, birth_date::text, country, kyc_level, status,"
            " email_verified_at FROM clients WHERE id = %s",
            (client_id,),
        ).fetchone()
        mail = conn.execute(
            "SELECT recipient, subject, body_text, state FROM messages WHERE client_id = %s",
            (client_id,),
        ).fetchall()
    assert row == ("Jana", "Nováková", "1990-04-30", "CZ", 0, "active", None)
    assert len(mail) == 1
    recipient, subject, text, state = mail[0]
    assert (recipient, state) == ("new.client@example.com", "queued")
    assert "Demo Brokerage" in subject
    link = re.search(r"https://portal\.example(/v1/portal/verify-email\?token=\S+)", text)
    assert link is not None, text
    # the token is kept only as its digest
    token = mailed_token(seeded_db_url, "new.client@example.com", "verification")
    digest = scalar(seeded_db_url, "SELECT token_sha256 FROM client_tokens WHERE client_id = %s",
                    client_id)  # fmt: skip
    assert bytes(digest) == hashlib.sha256(token.encode()).digest()

    headers = bearer(login(portal, "new.client@example.com").json())
    assert portal.get("/v1/portal/profile", headers=headers).json()["email_verified"] is False
    verified = portal.get(link[1])  # the mailed link, opened
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    again = portal.post("/v1/portal/verify-email", json={"token": token})
    assert again.status_code == 422
    assert again.json()["error"]["details"]["source"] == "backoffice"


def test_a_country_the_brand_does_not_take_is_refused_and_nothing_is_created(
    portal: TestClient, seeded_db_url: str
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute(
            "INSERT INTO brand_settings (brand_id, blocked_countries)"
            " SELECT id, ARRAY['US'] FROM brands WHERE code = 'demo'"
            " ON CONFLICT (brand_id) DO UPDATE SET blocked_countries = ARRAY['US']"
        )
    counts = "SELECT row((SELECT count(*) FROM clients), (SELECT count(*) FROM messages))::text"
    before = scalar(seeded_db_url, counts)
    refused = portal.post("/v1/portal/register", json=form(country="US"))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["details"]["source"] == "backoffice"
    assert error["details"]["fields"][0]["field"] == "country"
    assert scalar(seeded_db_url, counts) == before
    assert portal.post("/v1/portal/register", json=form(country="DE")).status_code == 201


def test_a_birth_date_is_iso_text_only(portal: TestClient, seeded_db_url: str) -> None:
    for bad in (19900430, "19900430", "1990-02-30", 6.4e8):
        response = portal.post("/v1/portal/register", json=form(birth_date=bad))
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["details"]["fields"][0]["field"] == "birth_date"
    minor = portal.post(
        "/v1/portal/register", json=form(birth_date=f"{datetime.now().year - 10}-01-01")
    )
    assert minor.status_code == 422
    assert scalar(seeded_db_url, "SELECT count(*) FROM clients WHERE email = %s",
                  "new.client@example.com") == 0  # fmt: skip


def test_the_same_address_twice_is_a_clear_conflict(portal: TestClient, seeded_db_url: str) -> None:
    assert portal.post("/v1/portal/register", json=form()).status_code == 201
    before = scalar(seeded_db_url, "SELECT count(*) FROM messages")
    again = portal.post(
        "/v1/portal/register", json=form(email="New.Client@Example.com", password="x" * 12)
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "email_taken"
    assert scalar(seeded_db_url, "SELECT count(*) FROM clients WHERE lower(email) = %s",
                  "new.client@example.com") == 1  # fmt: skip
    assert scalar(seeded_db_url, "SELECT count(*) FROM messages") == before
    # the first password still logs in, the second does not
    assert login(portal, "new.client@example.com").status_code == 200
    assert login(portal, "new.client@example.com", "x" * 12).status_code == 401


def test_registration_converts_the_matching_lead_and_screens_the_client(
    portal: TestClient, seeded_db_url: str
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        lead_id = conn.execute(
            "INSERT INTO leads (brand_id, email, full_name) SELECT id, 'NEW.client@example.com',"
            " 'Jana' FROM brands WHERE code = 'demo' RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
    client_id = portal.post("/v1/portal/register", json=form()).json()["client_id"]
    assert scalar(seeded_db_url, "SELECT client_id FROM leads WHERE id = %s", lead_id) == client_id
    assert scalar(
        seeded_db_url, "SELECT array_agg(reason) FROM aml_screenings WHERE client_id = %s",
        client_id,
    ) == ["registration"]  # fmt: skip

    headers = bearer(login(portal, "new.client@example.com").json())
    changed = portal.patch(
        "/v1/portal/profile", headers=headers, json={"full_name": "Jana Svobodová"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["last_name"] == "Svobodová"
    # a language change alone is not screened again; a new name is
    portal.patch("/v1/portal/profile", headers=headers, json={"language": "cs"})
    assert scalar(
        seeded_db_url, "SELECT array_agg(reason ORDER BY id) FROM aml_screenings"
        " WHERE client_id = %s", client_id,
    ) == ["registration", "profile_change"]  # fmt: skip


# --- credentials ----------------------------------------------------------------------------


def test_a_password_change_needs_the_current_one_and_ends_every_session(
    portal: TestClient, seeded_db_url: str
) -> None:
    registered(portal, seeded_db_url, "pw@example.com")
    first = login(portal, "pw@example.com").json()
    second = login(portal, "pw@example.com").json()
    wrong = portal.post(
        "/v1/portal/password",
        headers=bearer(first),
        json={"current_password": "not it at all", "new_password": "another passphrase"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"]["fields"][0]["field"] == "current_password"
    changed = portal.post(
        "/v1/portal/password",
        headers=bearer(first),
        json={"current_password": PASSWORD, "new_password": "another passphrase"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["refresh_tokens_revoked"] == 3  # the registered() login and these
    for tokens in (first, second):
        refreshed = portal.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401, refreshed.text
    assert login(portal, "pw@example.com").status_code == 401
    assert login(portal, "pw@example.com", "another passphrase").status_code == 200


def test_a_password_reset_mails_a_single_use_link(portal: TestClient, seeded_db_url: str) -> None:
    registered(portal, seeded_db_url, "reset@example.com")
    before = scalar(seeded_db_url, "SELECT count(*) FROM messages")
    unknown = portal.post(
        "/v1/portal/password-reset", json={"brand": "demo", "email": "nobody@example.com"}
    )
    assert unknown.status_code == 202
    assert scalar(seeded_db_url, "SELECT count(*) FROM messages") == before
    asked = portal.post(
        "/v1/portal/password-reset", json={"brand": "demo", "email": "RESET@example.com"}
    )
    assert asked.status_code == 202
    assert asked.json() == unknown.json()
    token = mailed_token(seeded_db_url, "reset@example.com", "password_reset")
    session = login(portal, "reset@example.com").json()
    done = portal.post(
        "/v1/portal/password-reset/confirm", json={"token": token, "new_password": "fresh start!"}
    )
    assert done.status_code == 200, done.text
    assert login(portal, "reset@example.com").status_code == 401
    assert login(portal, "reset@example.com", "fresh start!").status_code == 200
    refreshed = portal.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 401
    reused = portal.post(
        "/v1/portal/password-reset/confirm", json={"token": token, "new_password": "third time!!"}
    )
    assert reused.status_code == 422
    assert login(portal, "reset@example.com", "fresh start!").status_code == 200


# --- KYC ------------------------------------------------------------------------------------


def upload(
    api: TestClient, headers: dict[str, str], kind: str, data: bytes, side: str | None = None,
    content_type: str = "image/png",
) -> httpx.Response:  # fmt: skip
    fields = {"kind": kind, **({"side": side} if side else {})}
    response: httpx.Response = api.post(
        "/v1/portal/kyc/documents",
        headers=headers,
        data=fields,
        files={"file": ("scan.bin", data, content_type)},
    )
    return response


def test_documents_are_checked_stored_with_their_checksum_and_counted(
    portal: TestClient, seeded_db_url: str, tmp_path: Path
) -> None:
    headers = registered(portal, seeded_db_url, "kyc@example.com")
    status = portal.get("/v1/portal/kyc", headers=headers).json()
    assert status["level"]["name"] == "registered"
    assert status["level"]["live_accounts"] is False
    assert {m["requirement"] for m in status["missing"]} == {"identity", "selfie"}
    # the next level's limit as the seeded ladder has it, in the currency's two digits
    assert (status["next_level"]["deposit_limit"], status["next_level"]["deposit_limit_currency"]) \
        == ("2000.00", "USD")  # fmt: skip

    stored = upload(portal, headers, "passport", PNG, "front")
    assert stored.status_code == 201, stored.text
    digest = hashlib.sha256(PNG).hexdigest()
    assert stored.json()["sha256"] == digest
    assert stored.json()["content_type"] == "image/png"
    assert stored.json()["size_bytes"] == len(PNG)
    assert (tmp_path / "kyc-documents" / digest).read_bytes() == PNG
    kept = scalar(seeded_db_url, "SELECT sha256 FROM kyc_documents WHERE id = %s",
                  stored.json()["document_id"])  # fmt: skip
    assert bytes(kept).hex() == digest

    # the content decides, not the declared type
    text = upload(
        portal, headers, "selfie", b"just some text, not an image", content_type="image/png"
    )
    assert text.status_code == 422
    assert text.json()["error"]["code"] == "kyc_document_refused"
    assert text.json()["error"]["details"]["source"] == "backoffice"
    too_big = upload(
        portal, headers, "selfie", JPEG + b"\x00" * DOCUMENT_LIMIT, content_type="image/jpeg"
    )
    assert too_big.status_code == 422
    far_too_big = upload(
        portal, headers, "selfie", JPEG + b"\x00" * 200_000, content_type="image/jpeg"
    )
    assert far_too_big.status_code == 413
    unknown_kind = upload(portal, headers, "tax_return", PNG)
    assert unknown_kind.status_code == 422

    assert upload(portal, headers, "selfie", JPEG, content_type="image/jpeg").status_code == 201
    status = portal.get("/v1/portal/kyc", headers=headers).json()
    assert status["missing"] == []
    assert status["application_status"] == "created"
    assert status["target_level"] == 1
    assert scalar(seeded_db_url, "SELECT count(*) FROM kyc_documents") == 2


def test_an_unreachable_documents_bucket_is_a_503_to_try_again_and_nothing_is_kept(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    del redis_client
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")  # credentials found: the endpoint is what fails
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = portal_settings(seeded_db_url, redis_url, tmp_path)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    office = settings.backoffice.model_copy(
        update={"documents_url": "s3://kyc-documents", "documents_s3_endpoint": closed}
    )
    with TestClient(create_app(settings.model_copy(update={"backoffice": office}))) as api:
        headers = registered(api, seeded_db_url, "bucket@example.com")
        refused = upload(api, headers, "passport", PNG, "front")
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "kyc_documents_unavailable"
    assert error["details"]["retry"] is True
    assert closed.split("//")[1] not in refused.text  # the client is not shown our network
    assert scalar(seeded_db_url, "SELECT count(*) FROM kyc_documents") == 0


# --- accounts -------------------------------------------------------------------------------


def approve_kyc(db_url: str, email: str) -> None:
    """The KYC provider approves the client's open application (as its webhook would)."""
    with psycopg.connect(db_url) as conn:
        client_id = conn.execute("SELECT id FROM clients WHERE email = %s", (email,)).fetchone()
        assert client_id is not None
        application = applications.open_application(conn, client_id[0])
        applications.move(conn, Actor.system("kyc.provider"), application, "approved",
                          datetime.now(UTC))  # fmt: skip


def test_a_live_account_waits_for_the_email_and_the_kyc_level(
    portal: TestClient, seeded_db_url: str
) -> None:
    unverified = registered(portal, seeded_db_url, "early@example.com", verify=False)
    refused = portal.post("/v1/portal/accounts", headers=unverified, json={"kind": "live"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "email_not_verified"

    headers = registered(portal, seeded_db_url, "live@example.com")
    refused = portal.post("/v1/portal/accounts", headers=headers, json={"kind": "live"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "kyc_not_approved"
    assert refused.json()["error"]["details"]["missing"] == ["identity", "selfie"]
    accounts = "SELECT count(*) FROM trading_accounts a JOIN clients c ON c.id = a.client_id"
    assert scalar(seeded_db_url, accounts + " WHERE c.email = 'live@example.com'") == 0

    upload(portal, headers, "passport", PNG, "front")
    upload(portal, headers, "selfie", JPEG, content_type="image/jpeg")
    approve_kyc(seeded_db_url, "live@example.com")  # no restart: the next request sees it
    with psycopg.connect(seeded_db_url) as conn:  # the brand caps retail leverage in CZ
        conn.execute(
            "INSERT INTO brand_leverage_caps (brand_id, country, symbol_group, max_leverage)"
            " SELECT id, 'CZ', '*', 20 FROM brands WHERE code = 'demo'"
        )
    opened = portal.post("/v1/portal/accounts", headers=headers, json={"kind": "live"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["kind"] == "live"
    assert opened.json()["group"] == "retail-eu-hedging"
    assert opened.json()["leverage"] == 20
    listed = portal.get("/v1/accounts", headers=headers).json()
    assert [a["id"] for a in listed] == [opened.json()["account_id"]]


def test_a_new_client_opens_a_demo_account_and_trades_on_it(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    del redis_client
    settings = portal_settings(seeded_db_url, redis_url, tmp_path)
    with trading_processes(seeded_db_url, redis_url, tmp_path), serve(settings) as base:
        created = httpx.post(f"{base}/v1/portal/register", json=form(email="trader@example.com"))
        assert created.status_code == 201, created.text
        token = mailed_token(seeded_db_url, "trader@example.com", "verification")
        assert httpx.post(f"{base}/v1/portal/verify-email", json={"token": token}).is_success
        tokens = httpx.post(
            f"{base}/v1/auth/token", data={"username": "trader@example.com", "password": PASSWORD}
        )
        assert tokens.status_code == 200, tokens.text
        headers = bearer(tokens.json())
        opened = httpx.post(
            f"{base}/v1/portal/accounts", headers=headers, json={"kind": "demo"}, timeout=30
        )
        assert opened.status_code == 201, opened.text
        account = opened.json()
        assert (account["kind"], account["group"], account["currency"]) == (
            "demo",
            "demo-usd",
            "USD",
        )
        assert Decimal(account["balance"]) == Decimal(10_000)
        # no cap for the client's country: the group's own leverage, shown as a number
        assert account["leverage"] == scalar(
            seeded_db_url, "SELECT leverage FROM account_groups WHERE code = 'demo-usd'"
        )
        account_id = account["account_id"]
        wait_for_price(base, headers)
        placed = httpx.post(
            f"{base}/v1/accounts/{account_id}/orders",
            headers=headers,
            json={"client_order_id": "first-trade", "symbol": SYMBOL, "side": "buy",
                  "volume": "0.01"},
            timeout=30,
        )  # fmt: skip
        assert placed.status_code == 201, placed.text
        assert placed.json()["state"] == "filled"
        positions = httpx.get(f"{base}/v1/accounts/{account_id}/positions", headers=headers)
        assert [p["symbol"] for p in positions.json()] == [SYMBOL]
    assert scalar(seeded_db_url, "SELECT balance FROM trading_accounts WHERE id = %s",
                  account_id) >= Decimal(9_000)  # fmt: skip
