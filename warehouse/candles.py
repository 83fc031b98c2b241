"""Bid/ask candles per symbol and source, read and refreshed the same way on both paths.

``candles_1m``, ``candles_1h`` and ``candles_1d`` are continuous aggregates on TimescaleDB
(Timescale license) and rollup tables elsewhere; they share names and columns, so reading is
one query. Refreshing differs: ``refresh_continuous_aggregate`` per level, or the
``refresh_candles(from, to)`` SQL function. Buckets are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg import pq, sql
from psycopg.rows import class_row

Timeframe = Literal["1m", "1h", "1d"]

TIMEFRAMES: dict[Timeframe, tuple[str, timedelta]] = {
    "1m": ("candles_1m", timedelta(minutes=1)),
    "1h": ("candles_1h", timedelta(hours=1)),
    "1d": ("candles_1d", timedelta(days=1)),
}

_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Candle:
    bucket: datetime
    symbol: str
    source: str
    bid_open: float
    bid_high: float
    bid_low: float
    bid_close: float
    ask_open: float
    ask_high: float
    ask_low: float
    ask_close: float
    tick_count: int


def bucket_floor(moment: datetime, width: timedelta) -> datetime:
    """The start of the UTC bucket of ``width`` holding ``moment``."""
    return moment - (moment - _EPOCH) % width


def bucket_ceil(moment: datetime, width: timedelta) -> datetime:
    """The first bucket boundary at or after ``moment``."""
    floor = bucket_floor(moment, width)
    return floor if floor == moment else floor + width


def read_candles(
    conn: psycopg.Connection[Any],
    symbol: str,
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
    source: str | None = None,
    *,
    after: datetime | None = None,
    limit: int | None = None,
) -> list[Candle]:
    """Candles whose bucket starts in [start, end), oldest first; all sources unless named.

    A page of one source's candles: at most ``limit`` of them, after the bucket ``after``.
    """
    if after is not None and source is None:
        # a bucket holds a candle per source: a page could end between them
        raise ValueError("paging by bucket needs a source")
    relation, _ = TIMEFRAMES[timeframe]
    query = sql.SQL(
        """
        SELECT bucket, symbol, source, bid_open, bid_high, bid_low, bid_close,
               ask_open, ask_high, ask_low, ask_close, tick_count
        FROM {relation}
        WHERE symbol = %(symbol)s AND bucket >= %(start)s AND bucket < %(end)s
          AND (%(source)s::text IS NULL OR source = %(source)s::text)
          AND (%(after)s::timestamptz IS NULL OR bucket > %(after)s::timestamptz)
        ORDER BY bucket, source
        LIMIT %(limit)s::bigint
        """
    ).format(relation=sql.Identifier(relation))
    params = {
        "symbol": symbol,
        "start": start,
        "end": end,
        "source": source,
        "after": after,
        "limit": limit,
    }
    with conn.cursor(row_factory=class_row(Candle)) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def uses_continuous_aggregates(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT value FROM warehouse_meta WHERE key = 'candles'").fetchone()
    return row is not None and row[0] == "continuous_aggregate"


def refresh_candles(conn: psycopg.Connection[Any], start: datetime, end: datetime) -> None:
    """Recompute every timeframe's buckets that touch [start, end), e.g. after late ticks."""
    if end <= start:
        return
    if not uses_continuous_aggregates(conn):
        with conn.transaction():
            conn.execute("SELECT refresh_candles(%s, %s)", (start, end))
        return
    # refresh_continuous_aggregate refuses to run inside a transaction block.
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise RuntimeError("refresh_candles needs a connection outside a transaction")
    was_autocommit = conn.autocommit
    conn.autocommit = True
    try:
        for relation, width in TIMEFRAMES.values():
            # Only whole buckets inside the window are refreshed, so widen it to boundaries.
            conn.execute(
                "CALL refresh_continuous_aggregate(%s::regclass, %s, %s)",
                (relation, bucket_floor(start, width), bucket_ceil(end, width)),
            )
    finally:
        conn.autocommit = was_autocommit
