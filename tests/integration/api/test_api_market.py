"""Instruments with sessions, last prices of the caller's group, candles from the warehouse."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

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
    assert response.json()["next_cursor"] is None
    candles = response.json()["items"]
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


def _candle_pages(api: TestClient, headers: dict[str, str], **params: Any) -> list[list[Any]]:
    """Every page of EURUSD candles, following next_cursor from the first page to the last."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while len(pages) < 100:  # a cursor that never ends would otherwise loop forever
        query = {**params, "cursor": cursor} if cursor else params
        response = api.get("/v1/candles/EURUSD", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    return pages


def test_more_candles_than_a_page_are_all_reached_by_following_the_pages(
    api: TestClient, alice: Party, seeded_db_url: str
) -> None:
    start = datetime(2025, 11, 3, tzinfo=UTC)  # a Monday: 10,050 minutes run to Friday
    minutes = 10_050  # more than the 10,000 one answer used to stop at
    expected = [start + timedelta(minutes=n) for n in range(minutes)]
    with psycopg.connect(seeded_db_url) as conn:
        with conn.cursor().copy("COPY ticks (time, symbol, source, bid, ask) FROM STDIN") as copy:
            for n, bucket in enumerate(expected):
                bid = 1.1 + n / 100_000
                copy.write_row((bucket, "EURUSD", f"client:{alice.group}", bid, bid + 0.0002))
                if n % 1000 == 0:  # another group's prices in the same buckets: not ours
                    copy.write_row((bucket, "EURUSD", "client:other", 9.0, 9.1))
        conn.commit()
        refresh_candles(conn, start, expected[-1] + timedelta(minutes=1))
    headers = login(api, alice)
    period = {"timeframe": "1m", "start": "2025-11-03T00:00:00Z", "end": "2025-11-11T00:00:00Z"}

    widest = _candle_pages(api, headers, **period, limit=10_000)
    default = _candle_pages(api, headers, **period)

    assert [len(page) for page in widest] == [10_000, 50]
    assert [len(page) for page in default] == [1000] * 10 + [50]  # 1,000 a page by default
    for pages in (widest, default):
        candles = [candle for page in pages for candle in page]
        assert [datetime.fromisoformat(c["bucket"]) for c in candles] == expected
        # each candle is its own minute's tick: 1.1 + n / 100,000 at 5 digits
        assert [c["bid_open"] for c in candles[9_999:10_001]] == ["1.19999", "1.20000"]


def test_a_candle_cursor_past_the_last_candle_is_an_empty_last_page(
    api: TestClient, alice: Party
) -> None:
    response = api.get(
        "/v1/candles/EURUSD",
        params={
            "start": "2025-11-03T00:00:00Z",
            "end": "2025-11-04T00:00:00Z",
            "cursor": "99999999999999999",
        },
        headers=login(api, alice),
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}
