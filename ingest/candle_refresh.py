"""Keep candles current: refresh the windows the writers queued, merged, one refresher at a time.

Tick transactions queue their minute-aligned window in ``candle_refresh_queue``; this module
takes the queue, merges overlapping windows and calls ``warehouse.candles.refresh_candles``
for each, so only changed buckets are recomputed (late ticks included, however old).

* Rollup tables (plain PostgreSQL): dequeue and refresh in one transaction, so a crash leaves
  the windows queued.
* Continuous aggregates (TimescaleDB): the refresh cannot run in a transaction; the windows
  are deleted after it succeeds, so a crash repeats a refresh (harmless) and never skips one.

An advisory lock keeps concurrent writers from refreshing at once: two refreshes of the same
bucket computed from different snapshots could otherwise commit the older result last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from warehouse.candles import refresh_candles, uses_continuous_aggregates

# Any constant shared by every writer; spells "candles" in ASCII.
_REFRESH_LOCK = 0x63616E646C6573
_MAX_WINDOWS = 10_000

Window = tuple[datetime, datetime]


def merge_windows(windows: list[Window]) -> list[Window]:
    """Union of half-open windows, touching ones joined, oldest first."""
    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def refresh_queued_candles(conn: psycopg.Connection[Any]) -> int:
    """Refresh every queued window unless another writer is at it; windows refreshed."""
    if not conn.autocommit:
        raise ValueError("the refresher needs a connection in autocommit mode")
    if uses_continuous_aggregates(conn):
        return _refresh_continuous(conn)
    with conn.transaction():
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_REFRESH_LOCK,)).fetchone()
        if not (locked and locked[0]):
            return 0
        rows = conn.execute(
            """
            DELETE FROM candle_refresh_queue WHERE id IN (
                SELECT id FROM candle_refresh_queue ORDER BY id LIMIT %s)
            RETURNING window_start, window_end
            """,
            (_MAX_WINDOWS,),
        ).fetchall()
        windows = merge_windows([(start, end) for start, end in rows])
        for start, end in windows:
            refresh_candles(conn, start, end)
    return len(windows)


def _refresh_continuous(conn: psycopg.Connection[Any]) -> int:
    locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (_REFRESH_LOCK,)).fetchone()
    if not (locked and locked[0]):
        return 0
    try:
        rows = conn.execute(
            "SELECT id, window_start, window_end FROM candle_refresh_queue ORDER BY id LIMIT %s",
            (_MAX_WINDOWS,),
        ).fetchall()
        windows = merge_windows([(start, end) for _, start, end in rows])
        for start, end in windows:
            refresh_candles(conn, start, end)
        conn.execute(
            "DELETE FROM candle_refresh_queue WHERE id = ANY(%s)", ([row[0] for row in rows],)
        )
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_REFRESH_LOCK,))
    return len(windows)
