"""Deals, statements and orders as the execution service journals them, answered in the api's
formats: money at the currency's minor units, prices and volumes at the symbol's digits, never
``0E-8`` or ``-0.00``; and deal pages that follow each other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from fastapi.testclient import TestClient

from tests.integration.api.conftest import login
from tests.integration.api.support import Party, add_client

START = datetime(2025, 11, 20, 10, 0, tzinfo=UTC)
PERIOD = {"start": "2025-11-20T00:00:00Z", "end": "2025-11-21T00:00:00Z"}


def _deal(
    db_url: str, party: Party, minute: int, symbol: str, price: str, profit: str, fee: str = "0"
) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO deals (executed_at, trading_account_id, instrument_id, side, entry,"
            " volume, price, profit, commission, fee, routed)"
            " SELECT %s, %s, id, 'SELL', 'OUT', 0.1, %s, %s, -0.35, %s, 'B' FROM instruments"
            " WHERE symbol = %s",
            (
                START + timedelta(minutes=minute),
                party.account_id,
                Decimal(price),
                Decimal(profit),
                Decimal(fee),
                symbol,
            ),
        )


def test_deals_and_statements_are_in_the_currencys_and_symbols_digits(
    api: TestClient, alice: Party, seeded_db_url: str
) -> None:
    # NUMERIC(28, 8) zero reads back as Decimal("0E-8"); -0.004 rounds to a zero with a sign.
    _deal(seeded_db_url, alice, 0, "EURUSD", "1.08001", "0", "-0.004")
    _deal(seeded_db_url, alice, 1, "XAUUSD", "2350.1", "12.5")
    headers = login(api, alice)
    deals = api.get(f"/v1/accounts/{alice.account_id}/deals", params=PERIOD, headers=headers)
    assert deals.status_code == 200, deals.text
    shown = [
        (d["symbol"], d["volume"], d["price"], d["profit"], d["commission"], d["swap"], d["fee"])
        for d in deals.json()["items"]
    ]
    assert shown == [
        ("EURUSD", "0.10", "1.08001", "0.00", "-0.35", "0.00", "0.00"),
        ("XAUUSD", "0.10", "2350.10", "12.50", "-0.35", "0.00", "0.00"),
    ]
    statement = api.get(
        f"/v1/accounts/{alice.account_id}/statement", params=PERIOD, headers=headers
    ).json()
    # By hand: profit 0 + 12.50, commission 2 x -0.35, fee -0.004 (0.00 at cents).
    assert {k: statement[k] for k in ("profit", "commission", "swap", "fee", "net")} == {
        "profit": "12.50",
        "commission": "-0.70",
        "swap": "0.00",
        "fee": "0.00",
        "net": "11.80",
    }
    assert (statement["balance"], statement["credit"], statement["volume"]) == (
        "10000.00",
        "0.00",
        "0.2",
    )


def test_a_yen_account_shows_whole_yen(api: TestClient, seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute(
            "INSERT INTO account_groups (brand_id, code, name, account_kind, deposit_currency,"
            " leverage, margin_call_level, stop_out_level, position_mode, client_category,"
            " negative_balance_protection) SELECT brand_id, 'demo-jpy', 'Demo JPY',"
            " account_kind, 'JPY', leverage, margin_call_level, stop_out_level, position_mode,"
            " client_category, negative_balance_protection"
            " FROM account_groups WHERE code = 'demo-usd'"
        )
    yen = add_client(seeded_db_url, "yen@example.com", group="demo-jpy", balance=Decimal(1_500_000))
    _deal(seeded_db_url, yen, 0, "USDJPY", "150.123", "-1234")
    headers = login(api, yen)
    statement = api.get(f"/v1/accounts/{yen.account_id}/statement", params=PERIOD, headers=headers)
    assert statement.status_code == 200, statement.text
    body = statement.json()
    assert (body["balance"], body["profit"], body["commission"]) == ("1500000", "-1234", "0")
    assert body["deals"]["items"][0]["price"] == "150.123"


def test_deal_pages_follow_each_other(api: TestClient, alice: Party, seeded_db_url: str) -> None:
    for minute in range(5):
        _deal(seeded_db_url, alice, minute, "EURUSD", f"1.0800{minute}", "1")
    headers = login(api, alice)
    url = f"/v1/accounts/{alice.account_id}/deals"
    prices, cursor = [], None
    while True:
        page = api.get(url, params={**PERIOD, "limit": 2, "cursor": cursor}, headers=headers)
        assert page.status_code == 200, page.text
        prices += [d["price"] for d in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert prices == [f"1.0800{minute}" for minute in range(5)]
