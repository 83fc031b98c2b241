"""End to end through the real execution service: log in, trade, and watch it on the socket.

Runs the stack's own processes: two simulated LPs (FIX 4.4), ``brokerstack run execution``
and the api (uvicorn), on this test's PostgreSQL database and Redis.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.integration.api.support import Party
from tests.integration.api.through_stack import SYMBOL, http_login, wait_for_price


def _events(ws: ClientConnection, wanted: set[str], timeout: float = 20) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while not wanted <= set(seen) and time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == "event":
            seen.setdefault(message["event"], message["data"])
    return seen


def test_market_order_fills_and_shows_as_position_and_on_the_socket(
    stack: tuple[str, Party, Party],
) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    wait_for_price(base, headers)
    token = headers["Authorization"].removeprefix("Bearer ")
    with connect(base.replace("http", "ws") + f"/v1/stream?access_token={token}") as ws:
        ws.send(json.dumps({"action": "subscribe", "events": [alice.account_id]}))
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        placed = httpx.post(
            f"{base}/v1/accounts/{alice.account_id}/orders",
            headers=headers,
            json={"client_order_id": "e2e-1", "symbol": SYMBOL, "side": "buy", "volume": "0.1"},
            timeout=30,
        )
        assert placed.status_code == 201, placed.text
        result = placed.json()
        assert result["state"] == "filled"
        assert result["client_order_id"] == "e2e-1"
        events = _events(ws, {"order", "deal", "position", "account_state"})
    assert events["deal"]["order_id"] == result["order_id"]
    assert events["deal"]["position_id"] == result["position_id"]
    assert Decimal(events["deal"]["volume"]) == Decimal("0.1")
    assert events["position"]["position_id"] == result["position_id"]
    positions = httpx.get(
        f"{base}/v1/accounts/{alice.account_id}/positions", headers=headers
    ).json()
    assert [(p["id"], p["symbol"], p["side"]) for p in positions] == [
        (result["position_id"], SYMBOL, "buy")
    ]
    # The core's valuation after the fill, on the socket and then over REST.
    state = events["account_state"]
    assert Decimal(state["margin"]) > 0
    assert [value[0] for value in state["positions"]] == [result["position_id"]]
    summary = _summary_with_margin(base, headers, alice.account_id)
    assert Decimal(summary["equity"]) == Decimal(summary["balance"]) + Decimal(
        summary["credit"]
    ) + Decimal(summary["floating_profit"])
    assert Decimal(summary["free_margin"]) == Decimal(summary["equity"]) - Decimal(
        summary["margin"]
    )
    valued = httpx.get(f"{base}/v1/accounts/{alice.account_id}/positions", headers=headers).json()
    assert valued[0]["profit"] is not None
    assert valued[0]["current_price"] is not None
    closed = httpx.post(
        f"{base}/v1/accounts/{alice.account_id}/positions/{result['position_id']}/close",
        headers=headers,
        json={"volume": "0.04"},
        timeout=30,
    )
    assert closed.status_code == 200, closed.text
    left = httpx.get(f"{base}/v1/accounts/{alice.account_id}/positions", headers=headers).json()
    assert [Decimal(p["volume"]) for p in left] == [Decimal("0.06")]


def test_retrying_a_place_returns_the_same_order(stack: tuple[str, Party, Party]) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    wait_for_price(base, headers)
    body = {"client_order_id": "retry-1", "symbol": SYMBOL, "side": "buy", "volume": "0.01"}
    url = f"{base}/v1/accounts/{alice.account_id}/orders"
    first = httpx.post(url, headers=headers, json=body, timeout=30).json()
    again = httpx.post(url, headers=headers, json=body, timeout=30).json()
    assert again["order_id"] == first["order_id"]
    assert again["position_id"] == first["position_id"]
    positions = httpx.get(
        f"{base}/v1/accounts/{alice.account_id}/positions", headers=headers
    ).json()
    assert len(positions) == 1


def test_pending_order_is_modified_then_cancelled(stack: tuple[str, Party, Party]) -> None:
    base, alice, bob = stack
    headers = http_login(base, alice)
    price = wait_for_price(base, headers)
    far = f"{float(price['bid']) * 0.5:.2f}"
    url = f"{base}/v1/accounts/{alice.account_id}/orders"
    placed = httpx.post(
        url,
        headers=headers,
        timeout=30,
        json={
            "client_order_id": "limit-1",
            "symbol": SYMBOL,
            "side": "buy",
            "volume": "0.01",
            "type": "limit",
            "price": far,
        },
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    working = httpx.get(url, headers=headers).json()
    assert [(o["id"], o["state"], o["client_order_id"]) for o in working] == [
        (order_id, "placed", "limit-1")
    ]
    lower = f"{float(far) * 0.9:.2f}"
    modified = httpx.patch(f"{url}/{order_id}", headers=headers, json={"price": lower}, timeout=30)
    assert modified.status_code == 200, modified.text
    assert httpx.get(f"{url}/{order_id}", headers=headers).json()["price"].startswith(lower)
    # Bob cannot see or cancel it: not found, as if it did not exist.
    bob_headers = http_login(base, bob)
    assert (
        httpx.delete(
            f"{base}/v1/accounts/{alice.account_id}/orders/{order_id}", headers=bob_headers
        ).status_code
        == 404
    )
    cancelled = httpx.delete(f"{url}/{order_id}", headers=headers, timeout=30)
    assert cancelled.status_code == 200, cancelled.text
    assert httpx.get(url, headers=headers).json() == []
    assert httpx.get(f"{url}/{order_id}", headers=headers).json()["state"] == "canceled"


def test_execution_rejects_keep_their_code(stack: tuple[str, Party, Party]) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    wait_for_price(base, headers)
    refused = httpx.post(
        f"{base}/v1/accounts/{alice.account_id}/orders",
        headers=headers,
        json={"symbol": SYMBOL, "side": "buy", "volume": "0.013"},
        timeout=30,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_volume"


def _summary_with_margin(base: str, headers: dict[str, str], account_id: int) -> dict[str, Any]:
    """The summary once the service has valued the account with its position."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        summary = httpx.get(f"{base}/v1/accounts/{account_id}/summary", headers=headers)
        if summary.status_code == 200 and Decimal(summary.json()["margin"]) > 0:
            return summary.json()  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("no valuation with margin")


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _levels(item: dict[str, Any], *names: str) -> tuple[Decimal | None, ...]:
    return tuple(None if item[name] is None else Decimal(item[name]) for name in names)


def test_patching_a_pending_order_changes_only_what_is_sent(
    stack: tuple[str, Party, Party],
) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    bid = Decimal(wait_for_price(base, headers)["bid"])
    price, sl, tp = bid * Decimal("0.5"), bid * Decimal("0.4"), bid * Decimal("0.6")
    expires = "2200-01-01T00:00:00Z"
    url = f"{base}/v1/accounts/{alice.account_id}/orders"
    placed = httpx.post(
        url,
        headers=headers,
        timeout=30,
        json={
            "symbol": SYMBOL,
            "side": "buy",
            "volume": "0.01",
            "type": "limit",
            "price": _money(price),
            "sl": _money(sl),
            "tp": _money(tp),
            "expires_at": expires,
        },
    )
    assert placed.status_code == 201, placed.text
    order_url = f"{url}/{placed.json()['order_id']}"

    def levels() -> tuple[Decimal | None, ...]:
        return _levels(httpx.get(order_url, headers=headers).json(), "price", "sl", "tp")

    lower = price * Decimal("0.9")
    moved = httpx.patch(order_url, headers=headers, json={"price": _money(lower)}, timeout=30)
    assert moved.status_code == 200, moved.text
    # The stop loss, take profit and expiry were not sent, so they stay.
    order = httpx.get(order_url, headers=headers).json()
    assert order["expires_at"].startswith("2200-01-01T00:00:00")
    assert levels() == (
        Decimal(_money(lower)),
        Decimal(_money(sl)),
        Decimal(_money(tp)),
    )
    removed = httpx.patch(order_url, headers=headers, json={"sl": None}, timeout=30)
    assert removed.status_code == 200, removed.text
    assert levels() == (Decimal(_money(lower)), None, Decimal(_money(tp)))
    # A pending order keeps a price: a null one is refused, and nothing changes.
    refused = httpx.patch(order_url, headers=headers, json={"price": None}, timeout=30)
    assert refused.status_code == 422, refused.text
    assert levels() == (Decimal(_money(lower)), None, Decimal(_money(tp)))


def test_patching_a_position_changes_only_the_level_sent(
    stack: tuple[str, Party, Party],
) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    quote = wait_for_price(base, headers)
    bid, ask = Decimal(quote["bid"]), Decimal(quote["ask"])
    sl, tp = _money(bid * Decimal("0.5")), _money(ask * Decimal("1.5"))
    placed = httpx.post(
        f"{base}/v1/accounts/{alice.account_id}/orders",
        headers=headers,
        timeout=30,
        json={"symbol": SYMBOL, "side": "buy", "volume": "0.01", "sl": sl, "tp": tp},
    )
    assert placed.status_code == 201, placed.text
    position_id = placed.json()["position_id"]
    url = f"{base}/v1/accounts/{alice.account_id}/positions"

    def levels() -> tuple[Decimal | None, ...]:
        (position,) = [p for p in httpx.get(url, headers=headers).json() if p["id"] == position_id]
        return _levels(position, "sl", "tp")

    assert levels() == (Decimal(sl), Decimal(tp))
    nearer = _money(ask * Decimal("1.4"))
    moved = httpx.patch(f"{url}/{position_id}", headers=headers, json={"tp": nearer}, timeout=30)
    assert moved.status_code == 200, moved.text
    assert levels() == (Decimal(sl), Decimal(nearer))  # the stop loss stays
    removed = httpx.patch(f"{url}/{position_id}", headers=headers, json={"sl": None}, timeout=30)
    assert removed.status_code == 200, removed.text
    assert levels() == (None, Decimal(nearer))


def test_another_clients_orders_and_positions_are_not_found_and_stay_as_they_are(
    stack: tuple[str, Party, Party],
) -> None:
    base, alice, bob = stack
    bob_headers, headers = http_login(base, bob), http_login(base, alice)
    bid = Decimal(wait_for_price(base, bob_headers)["bid"])
    theirs = f"{base}/v1/accounts/{bob.account_id}"
    order = httpx.post(
        f"{theirs}/orders",
        headers=bob_headers,
        timeout=30,
        json={
            "symbol": SYMBOL,
            "side": "buy",
            "volume": "0.01",
            "type": "limit",
            "price": _money(bid / 2),
        },
    ).json()
    position = httpx.post(
        f"{theirs}/orders",
        headers=bob_headers,
        timeout=30,
        json={"symbol": SYMBOL, "side": "buy", "volume": "0.01"},
    ).json()
    assert order["order_id"] is not None, order
    assert position["position_id"] is not None, position

    def bobs_book() -> tuple[Any, Any]:
        orders = httpx.get(f"{theirs}/orders", headers=bob_headers).json()
        positions = httpx.get(f"{theirs}/positions", headers=bob_headers).json()
        return orders, [(p["id"], p["volume"], p["sl"], p["tp"]) for p in positions]

    before = bobs_book()
    # Alice names bob's order and position under her own account, on every route that
    # takes one: they are not hers, so they do not exist for her.
    ours = f"{base}/v1/accounts/{alice.account_id}"
    order_url, position_url = (
        f"{ours}/orders/{order['order_id']}",
        (f"{ours}/positions/{position['position_id']}"),
    )
    attempts = [
        ("GET", order_url, None),
        ("PATCH", order_url, {"price": _money(bid / 3)}),
        ("DELETE", order_url, None),
        ("PATCH", position_url, {"sl": _money(bid / 2)}),
        ("POST", f"{position_url}/close", {}),
    ]
    for method, url, body in attempts:
        answer = httpx.request(method, url, headers=headers, json=body, timeout=30)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.json()["error"]["code"] in {"not_found", "unknown_order", "unknown_position"}
    assert bobs_book() == before
