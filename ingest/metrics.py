"""Throughput and lag of the stream writers: Prometheus metrics in the process's default
registry (scraped from its operations port, ``brokerstack.ops``), and a log line.

Counters move as each batch commits; the gauges (the rate over the last reporting interval,
the stream's length, the group's pending entries and lag) at each housekeeping, when the
writer reads where the stream stands anyway.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

from ingest.consumer import StreamPosition

# An idle writer logs this rarely; a busy one at every report.
IDLE_LOG_SECONDS = 60.0

log = logging.getLogger(__name__)

ROWS = Counter("brokerstack_ingest_rows", "Rows loaded into the warehouse.", ["stream"])
ENTRIES = Counter(
    "brokerstack_ingest_entries", "Stream entries loaded (an entry carries rows).", ["stream"]
)
BATCHES = Counter("brokerstack_ingest_batches", "Transactions committed.", ["stream"])
REJECTED = Counter(
    "brokerstack_ingest_rejected",
    "Entries or rows refused as bad input (kept in ingest_rejects).",
    ["stream"],
)
SKIPPED = Counter(
    "brokerstack_ingest_redelivered_skipped",
    "Pending or claimed entries found already loaded, acknowledged without loading.",
    ["stream"],
)
ROWS_PER_SECOND = Gauge(
    "brokerstack_ingest_rows_per_second",
    "Rows loaded per second over the last reporting interval.",
    ["stream"],
)
STREAM_LENGTH = Gauge("brokerstack_ingest_stream_length", "Entries in the stream.", ["stream"])
GROUP_PENDING = Gauge(
    "brokerstack_ingest_group_pending",
    "Entries delivered to the writers' group and not acknowledged.",
    ["stream"],
)
LAG_SECONDS = Gauge(
    "brokerstack_ingest_lag_seconds",
    "Stream time from the oldest entry the writers' group has not loaded to the newest "
    "(0 when caught up).",
    ["stream"],
)


@dataclass
class WriterMetrics:
    """One writer's figures since it started (the counters above add up every writer of the
    process, its rounds after a reconnect included)."""

    stream: str
    consumer: str
    rows_total: int = 0
    entries_total: int = 0
    rejected_total: int = 0
    redelivered_skipped_total: int = 0
    rows_per_second: float = 0.0  # over the last reporting interval
    _window_started: float = field(default_factory=time.monotonic)
    _window_rows: int = 0
    _logged_rows: int = -1
    _logged_at: float = 0.0

    def __post_init__(self) -> None:
        # every series of the stream from the start, at 0: a writer that loaded nothing yet
        # is seen as such, not as missing
        for counter in (ROWS, ENTRIES, BATCHES, REJECTED, SKIPPED):
            counter.labels(self.stream)

    def committed(self, rows: int, entry_ids: list[bytes], rejected: int) -> None:
        self.rows_total += rows
        self.entries_total += len(entry_ids)
        self.rejected_total += rejected
        self._window_rows += rows
        stream = self.stream
        ROWS.labels(stream).inc(rows)
        ENTRIES.labels(stream).inc(len(entry_ids))
        BATCHES.labels(stream).inc()
        if rejected:
            REJECTED.labels(stream).inc(rejected)

    def skipped(self, count: int) -> None:
        self.redelivered_skipped_total += count
        SKIPPED.labels(self.stream).inc(count)

    def report(self, position: StreamPosition | None) -> None:
        """Set the gauges (the rate since the last report: the window restarts) and log."""
        now = time.monotonic()
        self.rows_per_second = self._window_rows / max(now - self._window_started, 1e-9)
        self._window_started, self._window_rows = now, 0
        stream = self.stream
        ROWS_PER_SECOND.labels(stream).set(self.rows_per_second)
        if position is not None:
            STREAM_LENGTH.labels(stream).set(position.length)
            GROUP_PENDING.labels(stream).set(position.pending)
            LAG_SECONDS.labels(stream).set(position.lag_seconds)
        if self.rows_total == self._logged_rows and now - self._logged_at < IDLE_LOG_SECONDS:
            return
        self._logged_rows, self._logged_at = self.rows_total, now
        log.info(
            "%s/%s rows=%d rate=%.1f/s lag=%ss pending=%s rejected=%d",
            stream,
            self.consumer,
            self.rows_total,
            self.rows_per_second,
            "?" if position is None else f"{position.lag_seconds:.3f}",
            "?" if position is None else position.pending,
            self.rejected_total,
        )
