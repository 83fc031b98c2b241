"""Ingest test helpers: tick fixtures, publishing, writer subprocesses, candles by polars."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import redis

from brokerstack.services.ports import free_port
from brokerstack.streams import TICKS_STREAM, Tick, encode_ticks
from warehouse.candles import Candle

ROOT = Path(__file__).resolve().parents[3]
SYMBOLS = ("EURUSD", "GBPUSD", "XAUUSD")


def numbered_ticks(base: datetime, first: int, count: int, source: str = "lp-alpha") -> list[Tick]:
    """Tick i is at base + i microseconds, so every tick is distinct and checkable."""
    base_ns = int(base.timestamp()) * 1_000_000_000 + base.microsecond * 1000
    return [
        Tick(
            base_ns + i * 1000,
            SYMBOLS[i % len(SYMBOLS)],
            source,
            1.0 + (i % 1000) / 100_000,
            1.0002 + (i % 1000) / 100_000,
        )
        for i in range(first, first + count)
    ]


def publish(client: redis.Redis, batches: Sequence[list[Tick]]) -> list[bytes]:
    """XADD one entry per batch, as the execution service does per pricing pass."""
    pipe = client.pipeline(transaction=False)
    for batch in batches:
        pipe.xadd(TICKS_STREAM, {b"b": encode_ticks(batch)})
    return list(pipe.execute())


def start_writer(
    database_url: str,
    redis_url: str,
    consumer: str,
    *extra: str,
    kind: str = "tick-writer",
    ops_port: int | None = None,
) -> subprocess.Popen[bytes]:
    """``brokerstack run tick-writer`` (or ``kind``), its operations port on ``ops_port``
    (default: a free one)."""
    env = {
        **os.environ,
        "BROKERSTACK_DATABASE_URL": database_url,
        "BROKERSTACK_REDIS_URL": redis_url,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brokerstack",
            "run",
            kind,
            "--consumer",
            consumer,
            "--ops-port",
            str(ops_port or free_port()),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def polars_candles(ticks: Sequence[Tick], every: str) -> list[Candle]:
    """Candles computed from the ticks alone, independently of the warehouse."""
    frame = pl.DataFrame(
        {
            "time": [t.time_ns // 1000 for t in ticks],
            "symbol": [t.symbol for t in ticks],
            "source": [t.source for t in ticks],
            "bid": [t.bid for t in ticks],
            "ask": [t.ask for t in ticks],
        }
    ).with_columns(pl.from_epoch("time", time_unit="us").dt.replace_time_zone("UTC"))
    grouped = (
        frame.sort("time")
        .group_by(pl.col("time").dt.truncate(every).alias("bucket"), "symbol", "source")
        .agg(
            pl.col("bid").first().alias("bid_open"),
            pl.col("bid").max().alias("bid_high"),
            pl.col("bid").min().alias("bid_low"),
            pl.col("bid").last().alias("bid_close"),
            pl.col("ask").first().alias("ask_open"),
            pl.col("ask").max().alias("ask_high"),
            pl.col("ask").min().alias("ask_low"),
            pl.col("ask").last().alias("ask_close"),
            pl.len().alias("tick_count"),
        )
        .sort("bucket", "symbol", "source")
    )
    return [Candle(**row) for row in grouped.iter_rows(named=True)]


def candle_scenario(seed: int = 7) -> tuple[list[Tick], list[Tick]]:
    """Ticks over two UTC days for two sources, and late ticks that reshape earlier candles.

    Times are strictly increasing within each list and never shared between the two, so
    open and close are unambiguous.
    """
    rng = random.Random(seed)
    start = datetime(2025, 3, 14, 22, 50, tzinfo=UTC)
    start_ns = int(start.timestamp()) * 1_000_000_000
    on_time: list[Tick] = []
    moment, price = start_ns, 1.08
    for i in range(3000):
        moment += rng.randrange(1, 2_000) * 1_000_000  # up to 2 s apart, whole ms
        price = max(0.5, price + rng.uniform(-5e-4, 5e-4))
        on_time.append(
            Tick(
                moment, SYMBOLS[i % 2], ("lp-alpha", "client:std")[i % 3 == 0], price, price + 2e-4
            )
        )
    late: list[Tick] = []
    for _ in range(60):
        earlier = rng.choice(on_time)
        jump = rng.choice((-0.01, 0.01))
        late.append(
            Tick(
                earlier.time_ns + 1_000 + rng.randrange(0, 999) * 1_000,  # between whole ms
                earlier.symbol,
                earlier.source,
                earlier.bid + jump,
                earlier.ask + jump,
            )
        )
    day_before = start_ns - 86_400 * 1_000_000_000
    late.append(Tick(day_before, "EURUSD", "lp-alpha", 1.05, 1.0502))
    return on_time, late


def assert_candles_match(conn: Any, ticks: Sequence[Tick]) -> None:
    """Every timeframe of every symbol equals the candles polars computes from ``ticks``."""
    from warehouse.candles import read_candles

    first = datetime(2025, 3, 1, tzinfo=UTC)
    last = datetime(2025, 4, 1, tzinfo=UTC)
    for timeframe, every in (("1m", "1m"), ("1h", "1h"), ("1d", "1d")):
        expected = polars_candles(ticks, every)
        for symbol in sorted({t.symbol for t in ticks}):
            mine = [c for c in expected if c.symbol == symbol]
            mine.sort(key=lambda c: (c.bucket, c.source))
            got = read_candles(conn, symbol, timeframe, first, last)  # type: ignore[arg-type]
            assert got == mine, f"{timeframe} {symbol}"
