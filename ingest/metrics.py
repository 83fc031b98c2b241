"""Throughput and lag of one stream writer: a Redis hash per writer, and a log line.

The hash ``ingest:metrics:<stream>:<consumer>`` is what dashboards and ``brokerstack status``
read; it expires when a writer stops reporting, so a dead writer disappears from the picture.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import redis

from ingest.consumer import StreamPosition
from ingest.entries import split_id

METRICS_KEY = "ingest:metrics:{stream}:{consumer}"
METRICS_TTL_SECONDS = 120
# An idle writer logs this rarely; a busy one at every report.
IDLE_LOG_SECONDS = 60.0

log = logging.getLogger(__name__)


@dataclass
class WriterMetrics:
    stream: str
    consumer: str
    rows_total: int = 0
    entries_total: int = 0
    batches_total: int = 0
    rejected_total: int = 0
    redelivered_skipped_total: int = 0
    last_committed_id: bytes = b"0-0"
    _window_started: float = field(default_factory=time.monotonic)
    _window_rows: int = 0
    _logged_rows: int = -1
    _logged_at: float = 0.0

    def committed(self, rows: int, entry_ids: list[bytes], rejected: int) -> None:
        self.rows_total += rows
        self.entries_total += len(entry_ids)
        self.batches_total += 1
        self.rejected_total += rejected
        self._window_rows += rows
        newest = max(entry_ids, key=split_id)
        if split_id(newest) > split_id(self.last_committed_id):
            self.last_committed_id = newest

    def skipped(self, count: int) -> None:
        self.redelivered_skipped_total += count

    def snapshot(self, position: StreamPosition | None) -> dict[str, str]:
        """Counters plus the rate since the last snapshot; resets the rate window."""
        now = time.monotonic()
        elapsed = max(now - self._window_started, 1e-9)
        rate = self._window_rows / elapsed
        self._window_started, self._window_rows = now, 0
        values = {
            "rows_total": self.rows_total,
            "entries_total": self.entries_total,
            "batches_total": self.batches_total,
            "rejected_total": self.rejected_total,
            "redelivered_skipped_total": self.redelivered_skipped_total,
            "rows_per_second": round(rate, 1),
            "last_committed_id": self.last_committed_id.decode(),
            "updated_at": round(time.time(), 3),
        }
        if position is not None:
            values |= {
                "stream_length": position.length,
                "group_pending": position.pending,
                "lag_seconds": round(position.lag_seconds, 3),
            }
        return {key: str(value) for key, value in values.items()}

    def publish(self, client: redis.Redis, position: StreamPosition | None) -> dict[str, str]:
        values = self.snapshot(position)
        key = METRICS_KEY.format(stream=self.stream, consumer=self.consumer)
        pipe = client.pipeline(transaction=False)
        pipe.hset(key, mapping=values)  # type: ignore[arg-type]
        pipe.expire(key, METRICS_TTL_SECONDS)
        pipe.execute()
        now = time.monotonic()
        if self.rows_total == self._logged_rows and now - self._logged_at < IDLE_LOG_SECONDS:
            return values
        self._logged_rows, self._logged_at = self.rows_total, now
        log.info(
            "%s/%s rows=%s rate=%s/s lag=%ss pending=%s rejected=%s",
            self.stream,
            self.consumer,
            values["rows_total"],
            values["rows_per_second"],
            values.get("lag_seconds", "?"),
            values.get("group_pending", "?"),
            values["rejected_total"],
        )
        return values
