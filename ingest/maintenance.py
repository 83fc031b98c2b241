"""Tick storage upkeep on plain PostgreSQL: partitions ahead of time, expired months dropped.

On TimescaleDB the chunking, compression and retention policies do this in background jobs,
so there is nothing to run. Schedule ``brokerstack ingest-maintenance`` (or call
:func:`maintain`) daily: creating months ahead keeps COPY out of the default partition, and
dropping whole months is the plain path's retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

# The same retention the TimescaleDB path's policy applies (0007_market_data).
DEFAULT_RETENTION = timedelta(days=5 * 365)
DEFAULT_MONTHS_AHEAD = 3


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    storage_path: str
    partitions_created: int = 0
    partitions_dropped: int = 0


def maintain(
    conn: psycopg.Connection[Any],
    *,
    now: datetime | None = None,
    retention: timedelta = DEFAULT_RETENTION,
    months_ahead: int = DEFAULT_MONTHS_AHEAD,
) -> MaintenanceReport:
    row = conn.execute("SELECT value FROM warehouse_meta WHERE key = 'storage_path'").fetchone()
    path = str(row[0]) if row is not None else "plain"
    if path == "timescale":
        return MaintenanceReport(path)
    moment = now or datetime.now(UTC)
    with conn.transaction():
        created = conn.execute(
            "SELECT create_tick_partitions(%s, %s)",
            (moment - timedelta(days=31), moment + timedelta(days=31 * months_ahead)),
        ).fetchone()
        dropped = conn.execute("SELECT drop_tick_partitions(%s)", (moment - retention,)).fetchone()
    return MaintenanceReport(
        path,
        partitions_created=int(created[0]) if created else 0,
        partitions_dropped=int(dropped[0]) if dropped else 0,
    )
