"""The admin trading routes, through HTTP, against the running execution service: a leverage
change alters the next order's margin, the dealer's close books a deal with the dealer as its
origin, a balance correction above the brand's threshold waits for a second approver (the
maker's own approval refused, the checker's applied once), each audited with before and
after; another brand's account is not found."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from brokerstack.streams import ACCOUNT_STATES_HASH
from execution import contracts as c
from tests.integration.backoffice.support_staff import (
    add_brand,
    add_member,
    brand_id,
    login,
    staff_api,
    staff_settings,
)
from tests.integration.backoffice.support_trading import Trading, trading
from tests.integration.execution.support import create_account, create_group, place

BASE = "/v1/admin/trading"


@pytest.fixture
def t(seeded_db_url: str, redis_url: str) -> Iterator[Trading]:
    with trading(seeded_db_url, redis_url) as running:
        yield running


@pytest.fixture
def api(t: Trading, seeded_db_url: str, redis_url: str, tmp_path: Path) -> Iterator[TestClient]:
    del t  # the execution service runs first
    with staff_api(staff_settings(seeded_db_url, redis_url, tmp_path)) as client:
        yield client


def _headers(api: TestClient, db_url: str, role: str, brand: str = "demo") -> dict[str, str]:
    return login(api, add_member(db_url, [role], [brand_id(db_url, brand)]))


def _audit(t: Trading, action: str) -> list[tuple[Any, ...]]:
    return t.rows(
        """SELECT actor_id, entity_type, entity_id, before, after FROM audit_log
           WHERE action = %s ORDER BY chain_seq""",
        action,
    )


def _balance(t: Trading) -> Decimal:
    ((balance,),) = t.rows(
        "SELECT balance FROM trading_accounts WHERE id = %s", t.account.account_id
    )
    return Decimal(balance)


def _margin_after(t: Trading, since: int) -> Decimal:
    deadline = time.monotonic() + 10
    while True:
        data = t.desk.hash_field(ACCOUNT_STATES_HASH, str(t.account.account_id))
        state = c.decode_event(data) if data is not None else None
        if isinstance(state, c.AccountState) and state.time > since and state.positions:
            return state.margin
        assert time.monotonic() < deadline, f"last state {state!r}"
        time.sleep(0.05)


def test_a_leverage_change_alters_the_next_orders_margin(
    t: Trading, api: TestClient, seeded_db_url: str
) -> None:
    dealer = _headers(api, seeded_db_url, "dealer")
    aid = t.account.account_id
    url = f"{BASE}/accounts/{aid}"

    state = api.get(url, headers=dealer)
    assert state.status_code == 200, state.text
    assert (state.json()["leverage"], state.json()["effective_leverage"]) == (None, 100)

    changed = api.put(f"{url}/leverage", json={"request_id": "lev-1", "leverage": 20},
                      headers=dealer)  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "executed"
    assert api.get(url, headers=dealer).json()["effective_leverage"] == 20

    t.desk.quote("BTCUSD", "64000.00", "64001.00")  # fresh: the logins took a while
    since = time.time_ns()
    opened = t.desk.client.request(place("buy", aid, "buy", "0.10"))
    assert isinstance(opened, c.Accepted), opened
    # BTCUSD, contract 1: 0.10 lot x 64001.01 (client ask) / 20 = 320.005 -> 320.01
    # (at the group's 1:100 it would be 64.00)
    assert _margin_after(t, since) == Decimal("320.01")

    ((actor, entity_type, entity, before, after),) = _audit(t, "trading.change_leverage")
    assert (entity_type, entity) == ("trading_account", str(aid))
    assert actor == str(api.get("/v1/admin/me", headers=dealer).json()["staff_user_id"])
    assert (before["account"]["leverage"], after["account"]["leverage"]) == (None, 20)

    # the state lists the position the order opened
    positions = api.get(url, headers=dealer).json()["positions"]
    assert [(p["position_id"], Decimal(p["volume"])) for p in positions] == [
        (opened.position_id, Decimal("0.10"))
    ]


def test_a_retail_clients_leverage_is_held_to_the_brands_cap(
    t: Trading, api: TestClient, seeded_db_url: str
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn, code="bo-retail-cap")
        conn.execute("UPDATE account_groups SET client_category = 'retail' WHERE id = %s",
                     (group,))  # fmt: skip
        retail = create_account(conn, group, Decimal(1000))  # a client in DE
    dealer = _headers(api, seeded_db_url, "dealer")
    # the demo brand's ESMA caps for DE: the highest is 1:30 (major currency pairs)
    refused = api.put(f"{BASE}/accounts/{retail.account_id}/leverage",
                      json={"request_id": "lev-cap", "leverage": 31}, headers=dealer)  # fmt: skip
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "leverage_above_cap"
    assert (error["details"]["cap"], error["details"]["source"]) == (30, "backoffice")
    assert t.rows("SELECT count(*) FROM admin_requests") == [(0,)]


def test_a_dealer_close_books_a_deal_with_the_dealer_as_its_origin(
    t: Trading, api: TestClient, seeded_db_url: str
) -> None:
    dealer_member = add_member(seeded_db_url, ["dealer"], [brand_id(seeded_db_url, "demo")])
    dealer = login(api, dealer_member)
    aid = t.account.account_id
    t.desk.quote("BTCUSD", "64000.00", "64001.00")
    opened = t.desk.client.request(place("open", aid, "buy", "0.05"))
    assert isinstance(opened, c.Accepted), opened
    off = api.put(f"{BASE}/accounts/{aid}/trading-enabled",
                  json={"request_id": "off", "enabled": False}, headers=dealer)  # fmt: skip
    assert (off.status_code, off.json()["status"]) == (200, "executed")
    t.desk.quote("BTCUSD", "64100.00", "64101.00")  # client bid 64099.99

    closed = api.post(f"{BASE}/positions/{opened.position_id}/close",
                      json={"request_id": "close-1"}, headers=dealer)  # fmt: skip
    assert closed.status_code == 200, closed.text
    (deal_id,) = closed.json()["reply"]["deal_ids"]
    # (64099.99 - 64001.01) x 0.05 = 4.949 -> 4.95
    assert t.rows("SELECT reason, price, profit FROM deals WHERE id = %s", deal_id) == [
        ("dealer", Decimal("64099.99"), Decimal("4.95"))
    ]
    ((command,),) = t.rows("SELECT command FROM admin_requests WHERE request_id = 'close-1'")
    assert command["dealer"] == str(dealer_member.id)
    ((actor, _, _, before, after),) = _audit(t, "trading.dealer_close")
    assert actor == str(dealer_member.id)
    assert [p["position_id"] for p in before["positions"]] == [opened.position_id]
    assert after["positions"] == []
    assert [(d["deal_id"], d["reason"]) for d in after["deals"]] == [(deal_id, "dealer")]

    again = api.post(f"{BASE}/positions/{opened.position_id}/close",
                     json={"request_id": "close-2"}, headers=dealer)  # fmt: skip
    assert (again.status_code, again.json()["error"]["code"]) == (404, "position_not_found")


def test_a_correction_above_the_threshold_waits_for_a_second_approver(
    t: Trading, api: TestClient, seeded_db_url: str
) -> None:
    maker_member = add_member(seeded_db_url, ["finance"], [brand_id(seeded_db_url, "demo")])
    maker = login(api, maker_member)
    checker_member = add_member(seeded_db_url, ["manager"], [brand_id(seeded_db_url, "demo")])
    checker = login(api, checker_member)
    aid = t.account.account_id
    body = {"request_id": "big", "amount": "5000.00", "comment": "fee refund"}

    asked = api.post(f"{BASE}/accounts/{aid}/balance-corrections", json=body, headers=maker)
    assert asked.status_code == 202, asked.text  # the demo brand's threshold is 1000
    assert asked.json()["status"] == "pending"
    assert _balance(t) == Decimal(10_000)
    queue = api.get(f"{BASE}/requests", headers=checker).json()
    assert [(r["request_id"], Decimal(r["amount"])) for r in queue] == [("big", Decimal(5000))]

    own = api.post(f"{BASE}/requests/big/approve", headers=maker)
    assert (own.status_code, own.json()["error"]["code"]) == (403, "checker_is_maker")
    assert _balance(t) == Decimal(10_000)

    for _ in range(2):  # a retried approval executes once
        approved = api.post(f"{BASE}/requests/big/approve", headers=checker)
        assert approved.status_code == 200, approved.text
        assert (approved.json()["status"], approved.json()["checker_id"]) == (
            "approved", checker_member.id,
        )  # fmt: skip
    assert _balance(t) == Decimal(15_000)
    assert api.get(f"{BASE}/requests", headers=checker).json() == []

    ((_, _, _, before, after),) = _audit(t, "trading.balance_correction.requested")
    assert before is None
    assert after["amount"] == "5000.00"
    ((actor, _, entity, before, after),) = _audit(t, "trading.balance_correction")
    assert (actor, entity) == (str(checker_member.id), str(aid))
    assert Decimal(before["account"]["balance"]) == Decimal(10_000)
    assert Decimal(after["account"]["balance"]) == Decimal(15_000)
    assert after["maker_id"] == maker_member.id

    # at or under the threshold: at once
    small = {"request_id": "small", "amount": "-250.00", "comment": ""}
    done = api.post(f"{BASE}/accounts/{aid}/balance-corrections", json=small, headers=maker)
    assert (done.status_code, done.json()["status"]) == (200, "executed")
    assert _balance(t) == Decimal("14750.00")


def test_a_rejected_request_sends_nothing_and_other_brands_are_not_found(
    t: Trading, api: TestClient, seeded_db_url: str
) -> None:
    maker = _headers(api, seeded_db_url, "finance")
    checker = _headers(api, seeded_db_url, "finance")
    aid = t.account.account_id
    asked = api.post(f"{BASE}/accounts/{aid}/bonuses",
                     json={"request_id": "bonus", "amount": "2000"}, headers=maker)  # fmt: skip
    assert asked.status_code == 202, asked.text
    rejected = api.post(f"{BASE}/requests/bonus/reject", json={"reason": "no basis"},
                        headers=checker)  # fmt: skip
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    again = api.post(f"{BASE}/requests/bonus/approve", headers=checker)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "admin_request_decided")
    assert t.rows("SELECT credit FROM trading_accounts WHERE id = %s", aid) == [(0,)]
    ((_, _, _, before, after),) = _audit(t, "trading.bonus.rejected")
    assert (before, after) == ({"status": "pending"}, {"status": "rejected", "reason": "no basis"})

    add_brand(seeded_db_url, "other")
    outsider = _headers(api, seeded_db_url, "manager", brand="other")
    for method, path, body in (
        ("GET", f"/accounts/{aid}", None),
        ("PUT", f"/accounts/{aid}/trading-enabled", {"request_id": "x1", "enabled": False}),
        ("POST", f"/accounts/{aid}/credit", {"request_id": "x2", "amount": "10"}),
    ):
        response = api.request(method, BASE + path, json=body, headers=outsider)
        assert (response.status_code, response.json()["error"]["code"]) == (
            404, "trading_account_not_found",
        ), response.text  # fmt: skip

    # the execution service refuses: credit may not go below zero (and nothing is kept)
    minus = api.post(f"{BASE}/accounts/{aid}/credit",
                     json={"request_id": "minus", "amount": "-1"}, headers=maker)  # fmt: skip
    assert minus.status_code == 422, minus.text
    assert minus.json()["error"]["details"]["source"] == "execution"
    assert t.rows("SELECT count(*) FROM admin_requests") == [(1,)]


def test_an_unreachable_execution_service_answers_503(
    t: Trading, api: TestClient, seeded_db_url: str
) -> None:
    dealer = _headers(api, seeded_db_url, "dealer")
    t.desk.running.stop()
    started = time.monotonic()
    response = api.put(f"{BASE}/accounts/{t.account.account_id}/trading-enabled",
                       json={"request_id": "late", "enabled": False}, headers=dealer)  # fmt: skip
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "execution_unavailable"
    assert time.monotonic() - started < 30
    assert t.rows("SELECT count(*) FROM admin_requests") == [(0,)]


def test_money_on_an_account_in_another_currency_than_the_threshold_always_waits(
    t: Trading, api: TestClient, seeded_db_url: str
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn, code="bo-eur")
        conn.execute("UPDATE account_groups SET deposit_currency = 'EUR' WHERE id = %s",
                     (group,))  # fmt: skip
        row = conn.execute(
            """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency,
                   balance) VALUES (987654, %s, %s, 'demo', 'EUR', 1000) RETURNING id""",
            (t.account.client_id, group),
        ).fetchone()
    assert row is not None
    eur_account = int(row[0])
    finance = _headers(api, seeded_db_url, "finance")
    small = {"request_id": "eur-1", "amount": "1.00"}  # the threshold is 1000 USD
    asked = api.post(f"{BASE}/accounts/{eur_account}/credit", json=small, headers=finance)
    assert (asked.status_code, asked.json()["status"]) == (202, "pending"), asked.text
    assert asked.json()["currency"] == "EUR"
