"""Retrying is safe: a command the api gave up on (504) never runs later, a retry with the same
key is answered with the first result, and the same key on a different request is refused.

Through the real execution service (``brokerstack run execution``) and the api under uvicorn.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import redis

from tests.integration.api.conftest import make_settings
from tests.integration.api.servers import serve, trading_processes
from tests.integration.api.support import Party, add_client
from tests.integration.api.through_stack import SYMBOL, http_login, wait_for_price


def _order_state(db_url: str, order_id: int) -> str:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT status FROM orders WHERE id = %s", (order_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_a_cancel_answered_504_never_runs_later_and_its_retry_runs_once(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    del redis_client
    alice = add_client(seeded_db_url, "alice@example.com", balance=Decimal(100_000))
    settings = make_settings(seeded_db_url, redis_url, tmp_path, timeout=3)
    with serve(settings) as base:
        headers = http_login(base, alice)
        orders = f"{base}/v1/accounts/{alice.account_id}/orders"
        with trading_processes(seeded_db_url, redis_url, tmp_path):
            bid = Decimal(wait_for_price(base, headers)["bid"])
            placed = httpx.post(
                orders,
                headers=headers,
                timeout=30,
                json={
                    "symbol": SYMBOL,
                    "side": "buy",
                    "volume": "0.01",
                    "type": "limit",
                    "price": f"{(bid / 2).quantize(Decimal('0.01'))}",
                },
            )
            assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        # The service is down: the cancel waits its 3 s and is answered 504.
        cancel = {**headers, "Idempotency-Key": "cancel-1"}
        gave_up = httpx.delete(f"{orders}/{order_id}", headers=cancel, timeout=30)
        assert gave_up.status_code == 504, gave_up.text
        assert gave_up.json()["error"]["code"] == "execution_timeout"
        with trading_processes(seeded_db_url, redis_url, tmp_path):
            # The restarted service reads the stream in order: once a later command is
            # answered, the expired cancel has been reached (and refused).
            _until_answered(f"{orders}/999999999", headers)
            assert _order_state(seeded_db_url, order_id) == "PENDING"
            retried = httpx.delete(f"{orders}/{order_id}", headers=cancel, timeout=30)
            assert retried.status_code == 200, retried.text
            assert retried.json()["state"] == "canceled"
            # Once more: the first answer, not "unknown order".
            again = httpx.delete(f"{orders}/{order_id}", headers=cancel, timeout=30)
            assert again.status_code == 200, again.text
            assert again.json() == retried.json()


def _until_answered(url: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = httpx.delete(url, headers=headers, timeout=30)
        if answer.status_code != 504:
            assert answer.json()["error"]["code"] == "unknown_order", answer.text
            return
    raise AssertionError("the execution service did not come back")


def test_a_close_retried_with_its_key_closes_once_and_a_changed_one_conflicts(
    stack: tuple[str, Party, Party], seeded_db_url: str
) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    wait_for_price(base, headers)
    account = f"{base}/v1/accounts/{alice.account_id}"
    opened = httpx.post(
        f"{account}/orders",
        headers=headers,
        timeout=30,
        json={"client_order_id": "open-1", "symbol": SYMBOL, "side": "buy", "volume": "0.03"},
    )
    assert opened.status_code == 201, opened.text
    position_id = opened.json()["position_id"]
    close_url = f"{account}/positions/{position_id}/close"
    keyed = {**headers, "Idempotency-Key": "close-1"}
    first = httpx.post(close_url, headers=keyed, json={"volume": "0.01"}, timeout=30)
    assert first.status_code == 200, first.text
    retried = httpx.post(close_url, headers=keyed, json={"volume": "0.01"}, timeout=30)
    assert retried.status_code == 200, retried.text
    assert retried.json()["deal_ids"] == first.json()["deal_ids"]
    changed = httpx.post(close_url, headers=keyed, json={"volume": "0.02"}, timeout=30)
    assert changed.status_code == 409, changed.text
    assert changed.json()["error"]["code"] == "idempotency_conflict"
    # One partial close happened, once: 0.02 of 0.03 lots are left, with one closing deal.
    positions = httpx.get(f"{account}/positions", headers=headers).json()
    assert [(p["id"], p["volume"]) for p in positions] == [(position_id, "0.02")]
    with psycopg.connect(seeded_db_url) as conn:
        closing = conn.execute(
            "SELECT count(*) FROM deals WHERE position_id = %s AND entry = 'OUT'", (position_id,)
        ).fetchone()
    assert closing == (1,)


def test_the_same_client_order_id_on_another_order_conflicts(
    stack: tuple[str, Party, Party],
) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    wait_for_price(base, headers)
    orders = f"{base}/v1/accounts/{alice.account_id}/orders"
    body = {"client_order_id": "algo-1", "symbol": SYMBOL, "side": "buy", "volume": "0.01"}
    assert httpx.post(orders, headers=headers, json=body, timeout=30).status_code == 201
    bigger = httpx.post(orders, headers=headers, json={**body, "volume": "0.02"}, timeout=30)
    assert bigger.status_code == 409, bigger.text
    assert bigger.json()["error"]["code"] == "idempotency_conflict"
    # The header is the same key: sent alone it is the client order id.
    keyed = {**headers, "Idempotency-Key": "algo-1"}
    unnamed = {k: v for k, v in body.items() if k != "client_order_id"}
    same = httpx.post(orders, headers=keyed, json=unnamed, timeout=30)
    assert same.status_code == 201, same.text
    assert same.json()["client_order_id"] == "algo-1"
    differing = httpx.post(
        orders, headers={**headers, "Idempotency-Key": "other"}, json=body, timeout=30
    )
    assert differing.status_code == 422
    positions = httpx.get(f"{base}/v1/accounts/{alice.account_id}/positions", headers=headers)
    assert [p["volume"] for p in positions.json()] == ["0.01"]


def test_a_modify_retried_with_its_key_is_answered_and_a_changed_one_conflicts(
    stack: tuple[str, Party, Party],
) -> None:
    base, alice, _ = stack
    headers = http_login(base, alice)
    bid = Decimal(wait_for_price(base, headers)["bid"])
    account = f"{base}/v1/accounts/{alice.account_id}"
    opened = httpx.post(
        f"{account}/orders",
        headers=headers,
        timeout=30,
        json={"symbol": SYMBOL, "side": "buy", "volume": "0.01"},
    )
    position_url = f"{account}/positions/{opened.json()['position_id']}"
    keyed = {**headers, "Idempotency-Key": "sl-1"}
    sl = f"{(bid / 2).quantize(Decimal('0.01'))}"
    assert httpx.patch(position_url, headers=keyed, json={"sl": sl}, timeout=30).status_code == 200
    assert httpx.patch(position_url, headers=keyed, json={"sl": sl}, timeout=30).status_code == 200
    other = f"{(bid / 3).quantize(Decimal('0.01'))}"
    changed = httpx.patch(position_url, headers=keyed, json={"sl": other}, timeout=30)
    assert changed.status_code == 409, changed.text
    assert httpx.get(f"{account}/positions", headers=headers).json()[0]["sl"] == sl
