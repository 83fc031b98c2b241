"""Scoping to the caller's own accounts, rate limits and the error body of bad input."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from api import security
from api.app import create_app
from brokerstack.settings import Settings
from tests.integration.api.conftest import SIGNING_KEY, login
from tests.integration.api.support import Party

# One valid request per operation on an account: every route of the api under
# /v1/accounts/{account_id} must be here (the test checks the schema has no other).
PERIOD = {"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
ACCOUNT_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/accounts/{account_id}"): {},
    ("GET", "/v1/accounts/{account_id}/summary"): {},
    ("GET", "/v1/accounts/{account_id}/positions"): {},
    ("GET", "/v1/accounts/{account_id}/orders"): {},
    ("GET", "/v1/accounts/{account_id}/orders/{order_id}"): {},
    ("GET", "/v1/accounts/{account_id}/deals"): {"params": PERIOD},
    ("GET", "/v1/accounts/{account_id}/statement"): {"params": PERIOD},
    ("POST", "/v1/accounts/{account_id}/orders"): {
        "json": {"symbol": "EURUSD", "side": "buy", "volume": "0.10"}
    },
    ("PATCH", "/v1/accounts/{account_id}/orders/{order_id}"): {"json": {"price": "1.05"}},
    ("DELETE", "/v1/accounts/{account_id}/orders/{order_id}"): {},
    ("POST", "/v1/accounts/{account_id}/positions/{position_id}/close"): {"json": {}},
    ("PATCH", "/v1/accounts/{account_id}/positions/{position_id}"): {"json": {"sl": "1.01"}},
}


def test_every_account_route_is_in_the_cross_client_test(api: TestClient) -> None:
    operations = {
        (method.upper(), path)
        for path, item in api.get("/openapi.json").json()["paths"].items()
        if path.startswith("/v1/accounts/{account_id}")
        for method in item
    }
    assert operations == set(ACCOUNT_ROUTES)


def test_another_clients_account_is_not_found_on_any_route(
    api: TestClient, alice: Party, bob: Party, redis_client: redis.Redis
) -> None:
    headers = login(api, alice)
    theirs = bob.account_id
    for (method, template), request in ACCOUNT_ROUTES.items():
        path = template.format(account_id=theirs, order_id=1, position_id=1)
        response = api.request(method, path, headers=headers, **request)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == {
            "code": "not_found",
            "message": f"account {theirs} not found",
            "details": {"resource": "account"},
        }
    # Nothing reached the execution service.
    assert redis_client.xlen("commands:main") == 0
    # The same answer as for an account that does not exist at all.
    missing = api.get(f"/v1/accounts/{theirs + 1000}", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"account {theirs + 1000} not found"


def test_a_principal_of_another_brand_sees_none_of_the_clients_accounts(
    api: TestClient, alice: Party, seeded_db_url: str
) -> None:
    # Every query names the brand too: a principal of another brand with alice's client id
    # (a forged or misissued claim) is not alice.
    with psycopg.connect(seeded_db_url) as conn:
        row = conn.execute(
            "INSERT INTO brands (code, name) VALUES ('other', 'Other Brokerage') RETURNING id"
        ).fetchone()
    assert row is not None
    token, _ = security.issue_access_token(
        SIGNING_KEY.encode(), alice.client_id, row[0], frozenset({"read", "trade"}), timedelta(60)
    )
    headers = {"Authorization": f"Bearer {token}"}
    # alice first, so her accounts are in the process's ownership cache.
    assert api.get(f"/v1/accounts/{alice.account_id}", headers=login(api, alice)).status_code == 200
    assert api.get("/v1/accounts", headers=headers).json() == []
    assert api.get(f"/v1/accounts/{alice.account_id}", headers=headers).status_code == 404


def test_a_closed_account_is_not_found(api: TestClient, alice: Party, seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        other = conn.execute(
            "INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency,"
            " closed_at) SELECT login + 1, client_id, account_group_id, kind, currency, now()"
            " FROM trading_accounts WHERE id = %s RETURNING id",
            (alice.account_id,),
        ).fetchone()
    assert other is not None
    headers = login(api, alice)
    assert [a["id"] for a in api.get("/v1/accounts", headers=headers).json()] == [alice.account_id]
    assert api.get(f"/v1/accounts/{other[0]}", headers=headers).status_code == 404


def test_a_new_account_is_open_at_once_though_ownership_is_cached(
    api: TestClient, alice: Party, seeded_db_url: str
) -> None:
    headers = login(api, alice)
    # Her accounts are now in the process's ownership cache (5 s).
    assert [a["id"] for a in api.get("/v1/accounts", headers=headers).json()] == [alice.account_id]
    with psycopg.connect(seeded_db_url) as conn:
        new = conn.execute(
            "INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency)"
            " SELECT login + 1, client_id, account_group_id, kind, currency"
            " FROM trading_accounts WHERE id = %s RETURNING id",
            (alice.account_id,),
        ).fetchone()
    assert new is not None
    # A miss re-reads: the account opened a moment ago is hers straight away.
    response = api.get(f"/v1/accounts/{new[0]}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == new[0]


def test_validation_errors_name_the_bad_field(api: TestClient, alice: Party) -> None:
    headers = login(api, alice)
    response = api.post(
        f"/v1/accounts/{alice.account_id}/orders",
        headers=headers,
        json={"symbol": "EURUSD", "side": "buy", "volume": "-1"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [f["field"] for f in error["details"]["fields"]] == ["volume"]
    limit = api.post(
        f"/v1/accounts/{alice.account_id}/orders",
        headers=headers,
        json={"symbol": "EURUSD", "side": "buy", "volume": "1", "type": "limit"},
    )
    assert limit.status_code == 422
    assert "price is required" in limit.json()["error"]["details"]["fields"][0]["message"]
    bad_path = api.get("/v1/accounts/0", headers=headers)
    assert bad_path.status_code == 422
    assert bad_path.json()["error"]["details"]["fields"][0]["field"] == "account_id"


@pytest.fixture
def strict_api(api_settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    del redis_client
    limits = api_settings.api.model_copy(
        update={
            "requests_per_second": 1.0,
            "request_burst": 3,
            "orders_per_second": 0.5,
            "order_burst": 1,
        }
    )
    settings = api_settings.model_copy(update={"api": limits})
    with TestClient(create_app(settings)) as client:
        yield client


def test_requests_over_the_limit_answer_429_with_retry_after(
    strict_api: TestClient, alice: Party, bob: Party
) -> None:
    headers = login(strict_api, alice)
    answers = [strict_api.get("/v1/accounts", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    limited = answers[3]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["details"]["scope"] == "requests"
    # Another client has its own bucket.
    assert strict_api.get("/v1/accounts", headers=login(strict_api, bob)).status_code == 200


def test_orders_over_the_account_limit_answer_429(
    strict_api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    headers = login(strict_api, alice)
    path = f"/v1/accounts/{alice.account_id}/orders"
    # An account whose bucket is a minute ahead (as after a burst of orders): the limit is
    # checked before anything is sent to the execution service.
    seconds, micros = redis_client.time()
    ahead = (seconds + 60) * 1_000_000 + micros
    redis_client.set(f"rl:account:{alice.account_id}", ahead, px=60_000)
    limited = strict_api.post(
        path, headers=headers, json={"symbol": "EURUSD", "side": "buy", "volume": "0.1"}
    )
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["details"]["scope"] == "requests or orders"
    assert "Retry-After" in limited.headers


def test_login_attempts_are_limited_per_email(strict_api: TestClient, alice: Party) -> None:
    # Burst 10, then one attempt per 5 s: each argon2 check takes a while on a busy machine,
    # so the attempts allowed are counted from the time they took.
    started = time.monotonic()
    codes: list[int] = []
    while 429 not in codes and len(codes) < 20:
        attempt = strict_api.post(
            "/v1/auth/token", data={"username": alice.email, "password": "guess"}
        )
        codes.append(attempt.status_code)
    refilled = math.ceil((time.monotonic() - started) / 5)
    assert codes[-1] == 429
    assert codes[:10] == [401] * 10
    assert set(codes[10:-1]) <= {401}
    assert len(codes) - 1 <= 10 + refilled


def test_each_api_key_has_its_own_request_bucket(strict_api: TestClient, alice: Party) -> None:
    headers = login(strict_api, alice)
    key = strict_api.post("/v1/api-keys", headers=headers, json={"scopes": ["read"]}).json()
    key_headers = {"X-API-Key": key["api_key"]}
    codes = [strict_api.get("/v1/accounts", headers=key_headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # The client's token session is a different bucket (one call used above to create the key).
    assert strict_api.get("/v1/accounts", headers=headers).status_code == 200
