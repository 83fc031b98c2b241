"""Candles on the plain-PostgreSQL path: the day's rollups recomputed from its ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from pipelines.assets.candles import candles, candles_count_every_tick
from tests.integration.pipelines.conftest import Runner, check_results

KEY = "2026-03-09"  # Tuesday 2026-03-10: 2026-03-09 21:00 UTC to 2026-03-10 21:00 UTC


def _ticks(conn: psycopg.Connection[Any], times: list[datetime], bid: float) -> None:
    conn.execute("SELECT create_tick_partitions('2026-03-01', '2026-04-01')")
    for at in times:
        conn.execute(
            """INSERT INTO ticks (time, symbol, source, bid, ask)
               VALUES (%s, 'EURUSD', 'lp-alpha', %s, %s)""",
            (at, bid, bid + 0.0001),
        )


def test_the_day_s_ticks_become_candles(conn: psycopg.Connection[Any], run: Runner) -> None:
    first = datetime(2026, 3, 10, 9, 0, 10, tzinfo=UTC)
    _ticks(conn, [first, first + timedelta(seconds=20), first + timedelta(minutes=1)], 1.08)
    _ticks(conn, [datetime(2026, 3, 10, 21, 0, 5, tzinfo=UTC)], 1.09)  # the next day's
    result = run([candles, candles_count_every_tick], KEY)
    assert check_results(result) == {"candles_count_every_tick": True}
    rows = conn.execute(
        "SELECT bucket, tick_count FROM candles_1m WHERE symbol = 'EURUSD' ORDER BY bucket"
    ).fetchall()
    assert [(b.astimezone(UTC).strftime("%H:%M"), n) for b, n in rows] == [
        ("09:00", 2), ("09:01", 1)
    ]  # fmt: skip


def test_candles_that_lose_ticks_fail_the_check(conn: psycopg.Connection[Any], run: Runner) -> None:
    _ticks(conn, [datetime(2026, 3, 10, 9, 0, 10, tzinfo=UTC)] * 3, 1.08)
    # a rollup bug, planted: every minute candle undercounts by one
    conn.execute(
        """CREATE FUNCTION undercount() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN NEW.tick_count := NEW.tick_count - 1; RETURN NEW; END $$;
           CREATE TRIGGER undercount BEFORE INSERT OR UPDATE ON candles_1m
               FOR EACH ROW EXECUTE FUNCTION undercount()"""
    )
    result = run([candles, candles_count_every_tick], KEY)
    assert check_results(result) == {"candles_count_every_tick": False}
