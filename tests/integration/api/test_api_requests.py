"""What the api refuses before anything is done (strict decimals, a price on a market order,
backwards periods, oversized bodies) and what it says about a path's methods."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from brokerstack.settings import Settings
from tests.integration.api.conftest import login
from tests.integration.api.servers import serve
from tests.integration.api.support import Party

COMMANDS = "commands:main"


def _refused_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return [f["field"] for f in error["details"]["fields"]]


@pytest.mark.parametrize(
    "volume",
    [
        "1_0",  # Python's Decimal reads ten
        " 0.01",
        "0.01 ",
        "1e2",
        "+1",
        "-0.1",
        "0",
        "0.000",
        ".5",
        "5.",
        "01",
        "١",  # an Arabic-Indic one: Decimal reads it, a schema's [0-9] does not
        "NaN",
        "Infinity",
        "0.000000001",  # nine decimals
        "1000000",  # seven integer digits
        0.1,  # a JSON number is already a binary float
        1,
    ],
)
def test_a_volume_outside_the_decimal_grammar_is_refused_and_nothing_is_sent(
    api: TestClient, alice: Party, redis_client: redis.Redis, volume: object
) -> None:
    response = api.post(
        f"/v1/accounts/{alice.account_id}/orders",
        headers=login(api, alice),
        json={"symbol": "EURUSD", "side": "buy", "volume": volume},
    )
    assert _refused_fields(response) == ["volume"]
    assert "decimal string" in response.json()["error"]["details"]["fields"][0]["message"]
    assert redis_client.xlen(COMMANDS) == 0


def test_prices_and_stops_follow_the_same_grammar(api: TestClient, alice: Party) -> None:
    headers = login(api, alice)
    base = {"symbol": "EURUSD", "side": "buy", "volume": "0.10", "type": "limit"}
    for field in ("price", "sl", "tp"):
        body = {**base, "price": "1.05", field: "1_0"}
        response = api.post(f"/v1/accounts/{alice.account_id}/orders", headers=headers, json=body)
        assert _refused_fields(response) == [field]


# One unit in the 32nd decimal: more digits than Decimal's context holds (28), which would
# round it to 1 if the grammar let it through.
TOO_PRECISE = "1.00000000000000000000000000000001"
_ORDER = {"symbol": "EURUSD", "side": "buy", "volume": "0.10"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "orders", {**_ORDER, "volume": TOO_PRECISE}, "volume"),
        ("post", "orders", {**_ORDER, "type": "limit", "price": TOO_PRECISE}, "price"),
        ("post", "orders", {**_ORDER, "sl": TOO_PRECISE}, "sl"),
        ("post", "orders", {**_ORDER, "tp": TOO_PRECISE}, "tp"),
        ("patch", "orders/1", {"price": TOO_PRECISE}, "price"),
        ("patch", "positions/1", {"sl": TOO_PRECISE}, "sl"),
        ("post", "positions/1/close", {"volume": TOO_PRECISE}, "volume"),
    ],
)
def test_a_decimal_with_more_digits_than_the_context_is_refused_not_rounded(
    api: TestClient,
    alice: Party,
    redis_client: redis.Redis,
    method: str,
    path: str,
    body: dict[str, str],
    field: str,
) -> None:
    response = api.request(
        method, f"/v1/accounts/{alice.account_id}/{path}", headers=login(api, alice), json=body
    )

    assert _refused_fields(response) == [field]
    assert redis_client.xlen(COMMANDS) == 0


def test_a_market_order_with_a_price_is_refused(
    api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    response = api.post(
        f"/v1/accounts/{alice.account_id}/orders",
        headers=login(api, alice),
        json={"symbol": "EURUSD", "side": "buy", "volume": "0.10", "price": "1.08"},
    )
    assert _refused_fields(response) == ["body"]
    message = response.json()["error"]["details"]["fields"][0]["message"]
    assert "price is only for limit and stop orders" in message
    assert redis_client.xlen(COMMANDS) == 0


def test_the_schema_states_the_grammar_the_server_applies(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()["components"]["schemas"]
    volume = schema["PlaceOrderRequest"]["properties"]["volume"]
    assert volume["type"] == "string"
    pattern = volume["pattern"]
    # Decimal("1_0") == 10, but the schema refuses it, as the server does above.
    grammar = re.compile(pattern)
    assert grammar.search("0.10") is not None
    assert all(grammar.search(bad) is None for bad in ("1_0", " 0.01", "1e2", "0", "-1"))
    # A market order's price is refused in the schema as well.
    assert schema["PlaceOrderRequest"]["then"] == {"properties": {"price": {"type": "null"}}}


@pytest.mark.parametrize("route", ["deals", "statement", "candles"])
@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-02-01T00:00:00Z", "2025-01-01T00:00:00Z"), ("2025-01-01T00:00:00Z",) * 2],
)
def test_a_period_must_run_forwards_on_every_history(
    api: TestClient, alice: Party, route: str, start: str, end: str
) -> None:
    path = (
        "/v1/candles/EURUSD" if route == "candles" else f"/v1/accounts/{alice.account_id}/{route}"
    )
    response = api.get(path, params={"start": start, "end": end}, headers=login(api, alice))
    assert _refused_fields(response) == ["end"]
    assert response.json()["error"]["details"]["fields"][0]["message"] == (
        "end must be after start"
    )


def test_a_cursor_that_is_not_a_position_is_refused(api: TestClient, alice: Party) -> None:
    response = api.get(
        f"/v1/accounts/{alice.account_id}/deals",
        params={"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z", "cursor": "x"},
        headers=login(api, alice),
    )
    assert _refused_fields(response) == ["cursor"]


@pytest.mark.parametrize("start", ["0", "1700000000", "1.7e9", "2025-01-01 00:00:00Z"])
def test_a_period_start_must_be_rfc3339_text_not_a_unix_time(
    api: TestClient, alice: Party, start: str
) -> None:
    response = api.get(
        f"/v1/accounts/{alice.account_id}/deals",
        params={"start": start, "end": "2026-01-01T00:00:00Z"},
        headers=login(api, alice),
    )
    assert _refused_fields(response) == ["start"]


def test_a_query_parameter_the_route_does_not_take_is_refused_by_name(
    api: TestClient, alice: Party
) -> None:
    # a typo of "limit" would otherwise be dropped and the default page size used
    response = api.get(
        f"/v1/accounts/{alice.account_id}/deals",
        params={"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z", "limt": "5"},
        headers=login(api, alice),
    )
    assert _refused_fields(response) == ["limt"]
    assert response.json()["error"]["details"]["fields"][0]["message"] == (
        "unknown query parameter"
    )


@pytest.fixture
def served(api_settings: Settings, redis_client: redis.Redis, tmp_path: Path) -> Iterator[str]:
    del redis_client, tmp_path
    with serve(api_settings) as base:
        yield base


def _read_response(conn: socket.socket) -> bytes:
    answer = b""
    while True:
        head, _, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        if length and len(body) >= int(length[1]):
            return answer
        chunk = conn.recv(65536)
        assert chunk, answer
        answer += chunk


def test_a_body_declared_too_large_is_refused_before_it_is_sent(served: str) -> None:
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        # Headers only: a server that waited for the 10 MB would time this test out.
        conn.sendall(
            b"POST /v1/accounts/1/orders HTTP/1.1\r\nHost: api\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
        )
        answer = _read_response(conn)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b'"code":"payload_too_large"' in answer


def test_a_streamed_body_over_the_limit_is_refused(
    api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    chunks = iter([b'{"symbol": "EURUSD", "side": "buy", "comment": "', b"x" * 70_000, b'"}'])
    response = api.post(
        f"/v1/accounts/{alice.account_id}/orders",
        headers={**login(api, alice), "Content-Type": "application/json"},
        content=chunks,  # no Content-Length: sent chunked
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert redis_client.xlen(COMMANDS) == 0


def test_options_lists_every_method_of_a_path(api: TestClient) -> None:
    cases = {
        "/v1/accounts/1/orders": "GET, POST, OPTIONS",
        "/v1/accounts/1/orders/2": "GET, PATCH, DELETE, OPTIONS",
        "/v1/accounts/1/positions/2": "PATCH, OPTIONS",
        "/v1/api-keys": "GET, POST, OPTIONS",
    }
    for path, allowed in cases.items():
        response = api.options(path)
        assert response.status_code == 204, path
        assert response.headers["Allow"] == allowed, path
        # A method the path does not serve says the same.
        refused = api.put(path)
        assert refused.status_code == 405, path
        assert refused.headers["Allow"] == allowed, path
        assert refused.json()["error"]["details"]["allowed"] == allowed.split(", ")
    assert api.options("/v1/no-such-thing").status_code == 404
