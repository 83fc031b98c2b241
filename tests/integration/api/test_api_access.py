"""Scoping to the caller's own accounts, rate limits and the error body of bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.integration.api.conftest import login
from tests.integration.api.support import Party


def test_another_clients_account_is_not_found_anywhere(
    api: TestClient, alice: Party, bob: Party
) -> None:
    headers = login(api, alice)
    theirs = bob.account_id
    reads = [
        f"/v1/accounts/{theirs}",
        f"/v1/accounts/{theirs}/summary",
        f"/v1/accounts/{theirs}/positions",
        f"/v1/accounts/{theirs}/orders",
        f"/v1/accounts/{theirs}/orders/1",
        f"/v1/accounts/{theirs}/deals?start=2025-01-01T00:00:00Z&end=2026-01-01T00:00:00Z",
    ]
    for path in reads:
        response = api.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    writes = [
        (
            "POST",
            f"/v1/accounts/{theirs}/orders",
            {"symbol": "EURUSD", "side": "buy", "volume": "0.1"},
        ),
        ("DELETE", f"/v1/accounts/{theirs}/orders/1", None),
        ("POST", f"/v1/accounts/{theirs}/positions/1/close", {}),
    ]
    for method, path, body in writes:
        response = api.request(method, path, headers=headers, json=body)
        assert response.status_code == 404, path
    # The same answer as for an account that does not exist at all.
    missing = api.get(f"/v1/accounts/{theirs + 1000}", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].replace(str(theirs + 1000), "N") == (
        api.get(f"/v1/accounts/{theirs}", headers=headers)
        .json()["error"]["message"]
        .replace(str(theirs), "N")
    )


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
def strict_api(api_settings: ApiSettings, redis_client: redis.Redis) -> Iterator[TestClient]:
    del redis_client
    settings = api_settings.model_copy(
        update={
            "requests_per_second": 1.0,
            "request_burst": 3,
            "orders_per_second": 0.5,
            "order_burst": 1,
        }
    )
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
    assert "Retry-After" in limited.headers


def test_login_attempts_are_limited_per_email(strict_api: TestClient, alice: Party) -> None:
    codes = [
        strict_api.post(
            "/v1/auth/token", data={"username": alice.email, "password": "guess"}
        ).status_code
        for _ in range(11)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429


def test_each_api_key_has_its_own_request_bucket(strict_api: TestClient, alice: Party) -> None:
    headers = login(strict_api, alice)
    key = strict_api.post("/v1/api-keys", headers=headers, json={"scopes": ["read"]}).json()
    key_headers = {"X-API-Key": key["api_key"]}
    codes = [strict_api.get("/v1/accounts", headers=key_headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # The client's token session is a different bucket (one call used above to create the key).
    assert strict_api.get("/v1/accounts", headers=headers).status_code == 200
