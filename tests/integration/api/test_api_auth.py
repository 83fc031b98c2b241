"""Logging in, refreshing, API keys, and refusing expired, forged or absent credentials."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg
from fastapi.testclient import TestClient

from api import security
from tests.integration.api.conftest import SIGNING_KEY, login
from tests.integration.api.support import Party


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_login_gives_tokens_that_open_the_own_accounts(api: TestClient, alice: Party) -> None:
    response = api.post(
        "/v1/auth/token", data={"username": "ALICE@example.com", "password": alice.password}
    )
    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["scope"] == "read trade"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    accounts = api.get("/v1/accounts", headers=headers).json()
    assert [a["id"] for a in accounts] == [alice.account_id]


def test_wrong_password_and_unknown_email_answer_the_same(api: TestClient, alice: Party) -> None:
    wrong = api.post("/v1/auth/token", data={"username": alice.email, "password": "nope"})
    unknown = api.post("/v1/auth/token", data={"username": "x@example.com", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert _error(wrong)["code"] == _error(unknown)["code"] == "invalid_credentials"


def test_an_e_mail_with_a_nul_byte_or_too_long_is_just_wrong(api: TestClient, alice: Party) -> None:
    # Neither reaches the query (PostgreSQL refuses NUL in text): the usual 401, not a 500.
    for email in (alice.email + "\x00", "a" * 310 + "@example.com"):
        response = api.post("/v1/auth/token", data={"username": email, "password": "nope"})
        assert response.status_code == 401, email[:20]
        assert _error(response)["code"] == "invalid_credentials"


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_family(
    api: TestClient, alice: Party
) -> None:
    first = api.post(
        "/v1/auth/token", data={"username": alice.email, "password": alice.password}
    ).json()
    second = api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    # The new access token is alice's, of her brand: it opens her accounts.
    headers = {"Authorization": f"Bearer {second.json()['access_token']}"}
    accounts = api.get("/v1/accounts", headers=headers)
    assert [a["id"] for a in accounts.json()] == [alice.account_id]
    reused = api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert _error(reused)["code"] == "token_reused"
    # The thief's reuse also ended the legitimate holder's newer token.
    after = api.post("/v1/auth/refresh", json={"refresh_token": rotated})
    assert after.status_code == 401


def test_expired_forged_and_missing_tokens_are_refused(api: TestClient, alice: Party) -> None:
    expired, _ = security.issue_access_token(
        SIGNING_KEY.encode(), alice.client_id, 1, frozenset({"read"}), timedelta(seconds=-5)
    )
    forged, _ = security.issue_access_token(
        b"another-key-" + b"1" * 32, alice.client_id, 1, frozenset({"read"}), timedelta(60)
    )
    cases = {
        "token_expired": {"Authorization": f"Bearer {expired}"},
        "invalid_token": {"Authorization": f"Bearer {forged}"},
        "not_authenticated": {},
    }
    for code, headers in cases.items():
        response = api.get("/v1/accounts", headers=headers)
        assert response.status_code == 401, code
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert _error(response)["code"] == code


def test_a_refresh_token_is_not_an_access_token(api: TestClient, alice: Party) -> None:
    tokens = api.post(
        "/v1/auth/token", data={"username": alice.email, "password": alice.password}
    ).json()
    response = api.get(
        "/v1/accounts", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_token"


def test_api_keys_carry_scopes_and_can_be_revoked(api: TestClient, alice: Party) -> None:
    headers = login(api, alice)
    created = api.post("/v1/api-keys", headers=headers, json={"name": "bot", "scopes": ["read"]})
    assert created.status_code == 201
    key = created.json()
    assert key["scopes"] == ["read"]
    key_headers = {"X-API-Key": key["api_key"]}
    assert api.get(f"/v1/accounts/{alice.account_id}", headers=key_headers).status_code == 200
    place = api.post(
        f"/v1/accounts/{alice.account_id}/orders",
        headers=key_headers,
        json={"symbol": "EURUSD", "side": "buy", "volume": "0.1"},
    )
    assert place.status_code == 403
    assert _error(place)["code"] == "insufficient_scope"
    assert _error(place)["details"] == {"required_scope": "trade"}
    listed = api.get("/v1/api-keys", headers=headers).json()
    assert [k["key_id"] for k in listed] == [key["key_id"]]
    assert "api_key" not in listed[0]
    assert api.delete(f"/v1/api-keys/{key['key_id']}", headers=headers).status_code == 204
    refused = api.get("/v1/accounts", headers=key_headers)
    assert refused.status_code == 401
    assert _error(refused)["code"] == "invalid_api_key"
    # A key never used (so not held verified by this process) is revoked just the same.
    unused = api.post("/v1/api-keys", headers=headers, json={"scopes": ["read"]}).json()
    assert api.delete(f"/v1/api-keys/{unused['key_id']}", headers=headers).status_code == 204
    assert api.get("/v1/accounts", headers={"X-API-Key": unused["api_key"]}).status_code == 401


def test_a_tampered_api_key_secret_is_refused(api: TestClient, alice: Party) -> None:
    headers = login(api, alice)
    key = api.post("/v1/api-keys", headers=headers, json={"scopes": ["read", "trade"]}).json()
    good = key["api_key"]
    assert api.get("/v1/accounts", headers={"X-API-Key": good}).status_code == 200
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    response = api.get("/v1/accounts", headers={"X-API-Key": tampered})
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_api_key"
    malformed = api.get("/v1/accounts", headers={"X-API-Key": good[:20]})
    assert malformed.status_code == 401
    assert _error(malformed)["code"] == "invalid_api_key"


def test_a_client_cannot_revoke_another_clients_api_key(
    api: TestClient, alice: Party, bob: Party
) -> None:
    bobs = api.post("/v1/api-keys", headers=login(api, bob), json={"scopes": ["read"]}).json()
    alices = login(api, alice)
    refused = api.delete(f"/v1/api-keys/{bobs['key_id']}", headers=alices)
    assert refused.status_code == 404
    assert _error(refused) == {
        "code": "not_found",
        "message": f"API key {bobs['key_id']} not found",
        "details": {"resource": "API key"},
    }
    # The same answer as for a key that does not exist: nothing says bob's exists.
    missing = api.delete("/v1/api-keys/0123456789abcdef", headers=alices)
    assert missing.status_code == 404
    assert _error(missing)["details"] == {"resource": "API key"}
    # Bob's key still works, and is not marked revoked.
    assert api.get("/v1/accounts", headers={"X-API-Key": bobs["api_key"]}).status_code == 200
    listed = api.get("/v1/api-keys", headers=login(api, bob)).json()
    assert [(k["key_id"], k["revoked_at"]) for k in listed] == [(bobs["key_id"], None)]
    # Nor does alice see it among hers.
    assert api.get("/v1/api-keys", headers=alices).json() == []


def test_an_api_key_cannot_create_api_keys(api: TestClient, alice: Party) -> None:
    # A read-only key minting itself a trade key would be a way around its scope.
    headers = login(api, alice)
    key = api.post("/v1/api-keys", headers=headers, json={"scopes": ["read"]}).json()
    for scopes in (["read"], ["read", "trade"]):
        refused = api.post(
            "/v1/api-keys", headers={"X-API-Key": key["api_key"]}, json={"scopes": scopes}
        )
        assert refused.status_code == 403
        assert _error(refused)["code"] == "forbidden"
    assert [k["key_id"] for k in api.get("/v1/api-keys", headers=headers).json()] == [key["key_id"]]


def test_a_suspended_client_can_neither_log_in_refresh_nor_use_its_api_keys(
    api: TestClient, alice: Party, seeded_db_url: str
) -> None:
    tokens = api.post(
        "/v1/auth/token", data={"username": alice.email, "password": alice.password}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    key = api.post("/v1/api-keys", headers=headers, json={"scopes": ["read"]}).json()
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET status = 'suspended' WHERE id = %s", (alice.client_id,))
    refreshed = api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert _error(refreshed)["code"] == "client_inactive"
    logged_in = api.post(
        "/v1/auth/token", data={"username": alice.email, "password": alice.password}
    )
    assert logged_in.status_code == 401
    assert _error(logged_in)["code"] == "invalid_credentials"
    # The key was never used, so no process holds it verified.
    keyed = api.get("/v1/accounts", headers={"X-API-Key": key["api_key"]})
    assert keyed.status_code == 401
    assert _error(keyed)["code"] == "invalid_api_key"
    # The access token still verifies until it expires, but opens none of its accounts.
    assert api.get("/v1/accounts", headers=headers).json() == []
    account = api.get(f"/v1/accounts/{alice.account_id}", headers=headers)
    assert account.status_code == 404


def test_refresh_refuses_forged_expired_and_unknown_refresh_tokens(
    api: TestClient, alice: Party
) -> None:
    key = SIGNING_KEY.encode()
    expired, _ = security.issue_refresh_token(key, alice.client_id, uuid.uuid4(), timedelta(-1))
    # Validly signed, but never issued (no row): a client cannot make up its own.
    unknown, _ = security.issue_refresh_token(key, alice.client_id, uuid.uuid4(), timedelta(1))
    cases = [
        ("not-a-token", "invalid_token"),
        (expired, "token_expired"),
        (unknown, "invalid_token"),
    ]
    for token, code in cases:
        response = api.post("/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 401, code
        assert _error(response)["code"] == code
