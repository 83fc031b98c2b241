"""Plain-path tick upkeep: months ahead are created, months past retention are dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from ingest.maintenance import maintain
from warehouse.db import connect


def _partitions(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'ticks'::regclass AND c.relname <> 'ticks_default'"""
    ).fetchall()
    return {str(row[0]) for row in rows}


def test_partitions_are_made_ahead_and_expired_months_dropped(db_url: str) -> None:
    now = datetime(2031, 5, 17, tzinfo=UTC)
    old = datetime(2024, 2, 10, tzinfo=UTC)
    with connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT create_tick_partitions(%s, %s)", (old, old + timedelta(days=1)))
        conn.execute(
            "INSERT INTO ticks (time, symbol, source, bid, ask) VALUES "
            "(%s, 'EURUSD', 'lp', 1.1, 1.2), (%s, 'EURUSD', 'lp', 1.1, 1.2)",
            (old, now),
        )

        report = maintain(conn, now=now, retention=timedelta(days=5 * 365), months_ahead=2)

        partitions = _partitions(conn)
        remaining = conn.execute("SELECT time FROM ticks").fetchall()
    assert report.storage_path == "plain"
    assert {"ticks_p203104", "ticks_p203105", "ticks_p203106", "ticks_p203107"} <= partitions
    assert "ticks_p202402" not in partitions
    assert report.partitions_dropped >= 1
    assert remaining == [(now,)]  # the tick parked in the default partition moved, not lost
