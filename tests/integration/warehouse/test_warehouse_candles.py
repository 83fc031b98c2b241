"""Candles on plain PostgreSQL: OHLC per symbol and source after refresh_candles, late ticks
correcting their bucket, hierarchical hours and days, and monthly tick partitions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from warehouse.candles import read_candles, refresh_candles

Conn = psycopg.Connection[Any]
T0 = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def conn(db_url: str) -> Iterator[Conn]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


def _ticks(conn: Conn, *ticks: tuple[float, str, float, float]) -> None:
    """(seconds after T0, source, bid, ask) for EURUSD."""
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO ticks (time, symbol, source, bid, ask) VALUES (%s, 'EURUSD', %s, %s, %s)",
            [(T0 + timedelta(seconds=s), source, bid, ask) for s, source, bid, ask in ticks],
        )


def _ohlc(conn: Conn, timeframe: Any, source: str | None = "lp-alpha") -> list[tuple[Any, ...]]:
    return [
        (c.bucket, c.bid_open, c.bid_high, c.bid_low, c.bid_close, c.ask_open, c.ask_close,
         c.tick_count)
        for c in read_candles(conn, "EURUSD", timeframe, T0 - timedelta(days=2),
                              T0 + timedelta(days=2), source)
    ]  # fmt: skip


def test_minute_candles_hold_open_high_low_close_per_source(conn: Conn) -> None:
    _ticks(
        conn,
        (5, "lp-alpha", 1.1000, 1.1002),
        (20, "lp-alpha", 1.1010, 1.1012),
        (30, "lp-beta", 1.0990, 1.0995),
        (45, "lp-alpha", 1.0995, 1.0997),
        (59.999, "lp-alpha", 1.1003, 1.1005),
        (61, "lp-alpha", 1.1020, 1.1022),
    )
    assert _ohlc(conn, "1m") == []  # nothing until refreshed
    refresh_candles(conn, T0, T0 + timedelta(minutes=2))

    assert _ohlc(conn, "1m") == [
        (T0, 1.1000, 1.1010, 1.0995, 1.1003, 1.1002, 1.1005, 4),
        (T0 + timedelta(minutes=1), 1.1020, 1.1020, 1.1020, 1.1020, 1.1022, 1.1022, 1),
    ]
    assert _ohlc(conn, "1m", "lp-beta") == [(T0, 1.0990, 1.0990, 1.0990, 1.0990, 1.0995, 1.0995, 1)]
    assert [
        c.source for c in read_candles(conn, "EURUSD", "1m", T0, T0 + timedelta(minutes=1))
    ] == [
        "lp-alpha",
        "lp-beta",
    ]
    hour = T0.replace(minute=0)
    assert _ohlc(conn, "1h") == [(hour, 1.1000, 1.1020, 1.0995, 1.1020, 1.1002, 1.1022, 5)]
    day = T0.replace(hour=0)
    assert _ohlc(conn, "1d") == [(day, 1.1000, 1.1020, 1.0995, 1.1020, 1.1002, 1.1022, 5)]


def test_late_tick_corrects_its_candle_and_rollups(conn: Conn) -> None:
    _ticks(conn, (10, "lp-alpha", 1.1000, 1.1002), (50, "lp-alpha", 1.1004, 1.1006))
    refresh_candles(conn, T0, T0 + timedelta(minutes=1))
    _ticks(conn, (1, "lp-alpha", 1.0900, 1.0902))  # arrives late, becomes the open and low
    refresh_candles(conn, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2))

    assert _ohlc(conn, "1m") == [(T0, 1.0900, 1.1004, 1.0900, 1.1004, 1.0902, 1.1006, 3)]
    assert _ohlc(conn, "1h")[0][1:] == (1.0900, 1.1004, 1.0900, 1.1004, 1.0902, 1.1006, 3)


def test_refresh_recomputes_only_its_window(conn: Conn) -> None:
    _ticks(conn, (10, "lp-alpha", 1.1, 1.1002), (3 * 3600, "lp-alpha", 1.2, 1.2002))
    refresh_candles(conn, T0, T0 + timedelta(minutes=1))
    assert [c[0] for c in _ohlc(conn, "1m")] == [T0]
    refresh_candles(conn, T0 + timedelta(hours=3), T0 + timedelta(hours=3, minutes=1))
    assert [c[0] for c in _ohlc(conn, "1m")] == [T0, T0 + timedelta(hours=3)]


def test_candles_of_removed_ticks_disappear_on_refresh(conn: Conn) -> None:
    _ticks(conn, (10, "lp-alpha", 1.1, 1.1002))
    refresh_candles(conn, T0, T0 + timedelta(minutes=1))
    conn.execute("DELETE FROM ticks")
    refresh_candles(conn, T0, T0 + timedelta(minutes=1))
    assert _ohlc(conn, "1m") == []
    assert _ohlc(conn, "1d") == []


def test_ticks_refuse_non_positive_and_nan_quotes(conn: Conn) -> None:
    for bid in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(psycopg.errors.CheckViolation):
            _ticks(conn, (1, "lp-alpha", bid, 1.1))


def test_new_month_partition_takes_over_ticks_parked_in_default(conn: Conn) -> None:
    history = datetime(2019, 6, 15, tzinfo=UTC)
    conn.execute(
        "INSERT INTO ticks (time, symbol, source, bid, ask) VALUES (%s, 'EURUSD', 'x', 1, 1.1)",
        (history,),
    )
    where = "SELECT tableoid::regclass::text FROM ticks WHERE time = %s"
    assert conn.execute(where, (history,)).fetchone() == ("ticks_default",)

    created = conn.execute(
        "SELECT create_tick_partitions(%s, %s)", (history, history + timedelta(days=40))
    ).fetchone()
    assert created == (2,)  # June and July 2019
    assert conn.execute(where, (history,)).fetchone() == ("ticks_p201906",)

    dropped = conn.execute("SELECT drop_tick_partitions('2019-07-01')").fetchone()
    assert dropped == (1,)
    assert conn.execute("SELECT count(*) FROM ticks WHERE time = %s", (history,)).fetchone() == (0,)
