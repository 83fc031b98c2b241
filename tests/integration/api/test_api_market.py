"""Instruments with sessions, last prices of the caller's group, candles from the warehouse."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import psycopg
import redis
from fastapi.testclient import TestClient

from tests.integration.api.conftest import login
from tests.integration.api.support import Party, add_client, publish_quote_state, publish_tick
from warehouse.candles import refresh_candles

SECOND = 1_000_000_000


def test_instruments_list_their_trading_sessions(api: TestClient, alice: Party) -> None:
    headers = login(api, alice)
    listed = api.get("/v1/instruments", headers=headers).json()
    assert {"EURUSD", "XAUUSD", "BTCUSD"} <= {i["symbol"] for i in listed}
    eurusd = api.get("/v1/instruments/EURUSD", headers=headers).json()
    assert eurusd["digits"] == 5
    # Plain decimals at their own digits: NUMERIC keeps 8 decimals, the answer does not.
    assert eurusd["contract_size"] == "100000"
    assert (eurusd["tick_size"], eurusd["min_volume"], eurusd["volume_step"]) == (
        "0.00001",
        "0.01",
        "0.01",
    )
    trade = [s for s in eurusd["sessions"] if s["kind"] == "trade"]
    assert {s["weekday"] for s in trade} == {1, 2, 3, 4, 5, 7}
    assert trade[0]["time_zone"] == "America/New_York"
    assert api.get("/v1/instruments/NOPE", headers=headers).status_code == 404


def test_quotes_are_the_callers_group_prices(
    api: TestClient, seeded_db_url: str, redis_client: redis.Redis
) -> None:
    retail = add_client(seeded_db_url, "retail@example.com", group="retail-eu-hedging")
    demo = add_client(seeded_db_url, "demo@example.com", group="demo-usd")
    publish_tick(redis_client, "retail-eu-hedging", "EURUSD", "1.08001", "1.08019", 1)
    publish_tick(redis_client, "demo-usd", "EURUSD", "1.08005", "1.08015", 2)
    retail_quotes = api.get("/v1/quotes?symbols=EURUSD", headers=login(api, retail)).json()
    demo_quotes = api.get("/v1/quotes", headers=login(api, demo)).json()
    assert [(q["symbol"], q["bid"], q["ask"]) for q in retail_quotes] == [
        ("EURUSD", "1.08001", "1.08019")
    ]
    assert [(q["symbol"], q["bid"], q["ask"]) for q in demo_quotes] == [
        ("EURUSD", "1.08005", "1.08015")
    ]


def test_a_quote_is_off_quotes_when_the_service_says_so_or_when_it_is_old(
    api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    now = time.time_ns()
    publish_tick(redis_client, alice.group, "EURUSD", "1.08001", "1.08011", now)
    # The service stopped 10 s ago (more than the 5 s limit) and said nothing.
    publish_tick(redis_client, alice.group, "GBPUSD", "1.27001", "1.27011", now - 10 * SECOND)
    publish_tick(redis_client, alice.group, "XAUUSD", "2350.10", "2350.40", now)
    publish_quote_state(redis_client, "XAUUSD", False, "no fresh price from any LP", now)
    quotes = api.get(
        "/v1/quotes", params={"symbols": ["EURUSD", "GBPUSD", "XAUUSD"]}, headers=login(api, alice)
    )
    assert quotes.status_code == 200, quotes.text
    eurusd, gbpusd, xauusd = quotes.json()
    assert (eurusd["symbol"], eurusd["live"], eurusd["off_quotes_reason"]) == ("EURUSD", True, None)
    assert (gbpusd["symbol"], gbpusd["live"]) == ("GBPUSD", False)
    age = re.fullmatch(r"no price for (\d+) s", gbpusd["off_quotes_reason"])
    assert age is not None
    assert int(age[1]) >= 10
    assert (xauusd["live"], xauusd["off_quotes_reason"]) == (False, "no fresh price from any LP")
    assert (xauusd["bid"], xauusd["ask"]) == ("2350.10", "2350.40")  # the last price, marked
    # Back on quotes: the service's next state says so.
    publish_quote_state(redis_client, "XAUUSD", True, "", now)
    back = api.get("/v1/quotes", params={"symbols": "XAUUSD"}, headers=login(api, alice))
    assert [(q["live"], q["off_quotes_reason"]) for q in back.json()] == [(True, None)]


def test_quotes_of_an_unknown_symbol_are_not_found(api: TestClient, alice: Party) -> None:
    response = api.get("/v1/quotes", params={"symbols": "EURUSX"}, headers=login(api, alice))
    assert response.status_code == 404
    assert response.json()["error"]["details"]["symbols"] == ["EURUSX"]


def test_candles_come_from_the_warehouse_for_the_callers_prices(
    api: TestClient, alice: Party, seeded_db_url: str
) -> None:
    start = datetime(2025, 11, 20, 10, 0, tzinfo=UTC)
    with psycopg.connect(seeded_db_url) as conn:
        with conn.cursor().copy("COPY ticks (time, symbol, source, bid, ask) FROM STDIN") as copy:
            for minute, bid in ((0, 1.1), (0, 1.2), (1, 1.15)):
                moment = start.replace(minute=minute, second=5)
                copy.write_row((moment, "EURUSD", f"client:{alice.group}", bid, bid + 0.0002))
            copy.write_row((start, "EURUSD", "client:other", 9.0, 9.1))
        conn.commit()
        refresh_candles(conn, start, start.replace(hour=11))
    response = api.get(
        "/v1/candles/EURUSD",
        params={"timeframe": "1m", "start": "2025-11-20T10:00:00Z", "end": "2025-11-20T10:05:00Z"},
        headers=login(api, alice),
    )
    assert response.status_code == 200, response.text
    candles = response.json()
    # Decimal strings at the symbol's digits (EURUSD: 5), as every other price.
    assert [(c["bucket"][:16], c["bid_open"], c["bid_high"], c["tick_count"]) for c in candles] == [
        ("2025-11-20T10:00", "1.10000", "1.20000", 2),
        ("2025-11-20T10:01", "1.15000", "1.15000", 1),
    ]
    assert candles[1]["ask_close"] == "1.15020"  # 1.15 + 0.0002 in float8, shown exactly
    backwards = api.get(
        "/v1/candles/EURUSD",
        params={"start": "2025-11-20T10:00:00Z", "end": "2025-11-20T09:00:00Z"},
        headers=login(api, alice),
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["details"]["fields"][0]["field"] == "end"
