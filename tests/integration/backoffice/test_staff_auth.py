"""Staff sessions as a staff member meets them: the second factor, replayed codes, tokens
that work only where they belong, sessions that end at once, throttled guessing, and an
audit record for every change to staff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from backoffice.staff import totp
from backoffice.staff.throttle import PER_ADDRESS, PER_EMAIL, WINDOW
from tests.integration.api.support import add_client as add_trading_client
from tests.integration.backoffice.support_staff import (
    Member,
    add_brand,
    add_member,
    brand_id,
    current_code,
    login,
    next_code,
    staff_api,
    staff_settings,
)


@pytest.fixture
def api(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[TestClient]:
    del redis_client
    with staff_api(staff_settings(seeded_db_url, redis_url, tmp_path)) as client:
        yield client


@pytest.fixture
def demo(seeded_db_url: str) -> int:
    return brand_id(seeded_db_url, "demo")


def _token(api: TestClient, member: Member, code: str | None = None) -> Any:
    body = {"email": member.email, "password": member.password}
    if code is not None:
        body["totp"] = code
    return api.post("/v1/admin/auth/token", json=body)


def _code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_a_role_that_needs_2fa_cannot_act_until_it_logs_in_with_a_code(
    api: TestClient, seeded_db_url: str, demo: int
) -> None:
    officer = add_member(seeded_db_url, ["kyc_officer"], [demo], enrol=False)
    first = _token(api, officer)
    assert first.status_code == 200
    assert first.json()["mfa"] is False
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}

    refused = api.get(f"/v1/admin/brands/{demo}", headers=bearer)
    assert refused.status_code == 403
    assert _code(refused) == "mfa_required"

    # enrolment works in the password-only session; the code confirms it
    secret = api.post("/v1/admin/auth/totp/enrol", headers=bearer).json()["secret"]
    now = datetime.now(UTC)
    confirmed = api.post("/v1/admin/auth/totp/confirm", headers=bearer,
                         json={"code": totp.code_at(secret, now)})  # fmt: skip
    assert confirmed.status_code == 204
    assert api.get(f"/v1/admin/brands/{demo}", headers=bearer).status_code == 403

    assert _code(_token(api, officer)) == "totp_required"
    # the next time step's code (the confirming one is spent)
    second = _token(api, officer, totp.code_at(secret, now + timedelta(seconds=30)))
    assert second.status_code == 200
    assert second.json()["mfa"] is True
    bearer = {"Authorization": f"Bearer {second.json()['access_token']}"}
    allowed = api.get(f"/v1/admin/brands/{demo}", headers=bearer)
    assert allowed.status_code == 200
    assert allowed.json()["id"] == demo


def test_a_replayed_totp_code_is_refused(api: TestClient, seeded_db_url: str, demo: int) -> None:
    admin = add_member(seeded_db_url, ["admin"], [demo])
    code = current_code(admin)
    assert _token(api, admin, code).status_code == 200
    replayed = _token(api, admin, code)
    assert replayed.status_code == 401
    assert _code(replayed) == "totp_replayed"
    wrong = _token(api, admin, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 401
    assert _code(wrong) == "invalid_credentials"


def test_staff_tokens_and_client_tokens_each_fail_at_the_others_routes(
    api: TestClient, seeded_db_url: str, demo: int
) -> None:
    admin = add_member(seeded_db_url, ["admin"], [demo])
    staff = login(api, admin)
    client = add_trading_client(seeded_db_url, "trader@example.com")
    response = api.post(
        "/v1/auth/token", data={"username": client.email, "password": client.password}
    )
    trader = {"Authorization": f"Bearer {response.json()['access_token']}"}

    assert api.get("/v1/admin/me", headers=staff).status_code == 200
    assert api.get("/v1/accounts", headers=trader).status_code == 200
    at_client_routes = api.get("/v1/accounts", headers=staff)
    at_staff_routes = api.get("/v1/admin/me", headers=trader)
    assert at_client_routes.status_code == 401
    assert _code(at_client_routes) == "invalid_token"
    assert at_staff_routes.status_code == 401
    assert _code(at_staff_routes) == "invalid_token"


def test_a_session_ended_by_logout_or_by_disabling_fails_at_once(
    api: TestClient, seeded_db_url: str, demo: int
) -> None:
    admin = add_member(seeded_db_url, ["admin"], [demo])
    manager = add_member(seeded_db_url, ["manager"], [demo])
    own = login(api, manager)
    assert api.get("/v1/admin/me", headers=own).status_code == 200
    assert api.post("/v1/admin/auth/logout", headers=own).status_code == 204
    ended = api.get("/v1/admin/me", headers=own)
    assert ended.status_code == 401
    assert _code(ended) == "session_ended"

    again = login(api, manager, next_code(manager))
    assert api.get("/v1/admin/staff", headers=again).status_code == 200
    disabled = api.post(f"/v1/admin/staff/{manager.id}/disable", headers=login(api, admin))
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    assert _code(api.get("/v1/admin/staff", headers=again)) == "session_ended"
    assert _code(_token(api, manager, current_code(manager))) == "invalid_credentials"


def test_guessing_one_password_is_throttled_per_email(
    api: TestClient, seeded_db_url: str, demo: int
) -> None:
    member = add_member(seeded_db_url, ["sales"], [demo], enrol=False)
    guess = {"email": member.email.upper(), "password": "not the password"}
    for _ in range(PER_EMAIL):
        assert api.post("/v1/admin/auth/token", json=guess).status_code == 401
    # now even the right password waits, and is told how long
    throttled = _token(api, member)
    assert throttled.status_code == 429
    assert _code(throttled) == "rate_limited"
    assert 0 < int(throttled.headers["Retry-After"]) <= WINDOW.total_seconds()
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute(
            "UPDATE staff_login_failures SET failed_at = failed_at - %s", (WINDOW,)
        )  # the window has passed
    assert _token(api, member).status_code == 200


def test_guessing_many_accounts_from_one_address_is_throttled(
    api: TestClient, seeded_db_url: str, demo: int
) -> None:
    member = add_member(seeded_db_url, ["sales"], [demo], enrol=False)
    for n in range(PER_ADDRESS):
        guess = {"email": f"nobody{n}@example.com", "password": "guess"}
        assert api.post("/v1/admin/auth/token", json=guess).status_code == 401
    throttled = _token(api, member)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0


def test_staff_changes_are_audited_with_who_before_and_after(
    api: TestClient, seeded_db_url: str, demo: int
) -> None:
    admin = add_member(seeded_db_url, ["admin"], None)  # every brand
    bearer = login(api, admin)
    other = add_brand(seeded_db_url, "second")
    body = {
        "email": "new.officer@brokerstack.test",
        "display_name": "New Officer",
        "password": "twelve chars or more",
        "roles": ["kyc_officer"],
        "brand_ids": [demo],
    }
    created = api.post("/v1/admin/staff", headers=bearer, json=body)
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    assert created.json()["requires_2fa"] is True
    assert created.json()["brand_ids"] == [demo]
    assert api.put(f"/v1/admin/staff/{new_id}/roles/support", headers=bearer).status_code == 200
    assert api.put(f"/v1/admin/staff/{new_id}/brands", headers=bearer,
                   json={"brand_ids": [other]}).status_code == 200  # fmt: skip

    subject = {"entity_type": "staff_user", "entity_id": str(new_id)}
    trail = api.get("/v1/admin/audit", headers=bearer, params=subject).json()
    actions = [(r["action"], r["actor_type"], r["actor_id"]) for r in trail]
    assert actions == [
        ("staff.create", "staff", str(admin.id)),
        ("staff.grant_role", "staff", str(admin.id)),
        ("staff.set_brands", "staff", str(admin.id)),
    ]
    assert trail[0]["before"] is None
    assert trail[0]["after"]["roles"] == ["kyc_officer"]
    assert trail[1]["before"]["roles"] == ["kyc_officer"]
    assert trail[1]["after"]["roles"] == ["kyc_officer", "support"]
    assert (trail[2]["before"]["brand_ids"], trail[2]["after"]["brand_ids"]) == ([demo], [other])
