"""The exactly-once loop shared by the tick and event writers.

For every batch of stream entries, one warehouse transaction records the entry ids
(``stream_entries``), advances the consumer's offset (``stream_offsets``) and loads the rows;
only after it commits are the entries acknowledged in Redis. So:

* a crash before the commit leaves the entries pending in Redis: the restarted writer (same
  consumer name) re-reads them, or another writer claims them once they are stale;
* a crash after the commit but before the acknowledgement leaves entries pending that the
  warehouse already holds: they are recognised by id, acknowledged and skipped;
* two writers racing for the same entry (a claim while its first reader is merely slow) meet
  at the primary key of ``stream_entries``; the loser rolls back and re-filters.

Backpressure is the loop itself: a writer holds at most two batches of ``batch_entries``
entries (the one loading and one read ahead, ``ingest.prefetch``) and reads more only as
batches commit, so a slow warehouse leaves the backlog in Redis and memory stays bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import psycopg
from psycopg import errors

from ingest.consumer import Entry, StreamConsumer
from ingest.entries import committed_among, forget_entries_below, record_entries, reject
from ingest.metrics import WriterMetrics
from ingest.prefetch import Prefetcher

log = logging.getLogger(__name__)

_ENTRIES_KEY = "stream_entries_pkey"


@dataclass(frozen=True, slots=True)
class Loaded:
    rows: int
    rejected: int


class Sink(Protocol):
    """Loads the rows carried by stream entries, inside the caller's transaction.

    The fast path (``careful=False``) may leave validation to the database: raising
    ``psycopg.DataError`` or ``psycopg.IntegrityError`` makes the writer retry entry by entry
    with ``careful=True``, where the sink checks every row and rejects (``ingest.entries.reject``)
    the bad ones instead; an entry that still fails is rejected whole.
    """

    def prepare(self, entries: Sequence[Entry]) -> None:
        """Decode ahead of ``load``, on the prefetch thread (no database access)."""

    def load(
        self, conn: psycopg.Connection[Any], entries: Sequence[Entry], *, careful: bool
    ) -> Loaded: ...


@dataclass(frozen=True, slots=True)
class WriterOptions:
    batch_entries: int = 500
    block_ms: int = 200
    claim_idle_ms: int = 30_000
    housekeeping_seconds: float = 1.0
    # Off for streams other readers replay by id (``events``): their producer caps them.
    trim: bool = True
    # How long the warehouse remembers loaded entry ids once Redis can no longer redeliver
    # them; a batch held in memory for half of this is dropped and re-read instead of loaded.
    entry_memory_seconds: float = 600.0


class StreamWriter:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        consumer: StreamConsumer,
        sink: Sink,
        options: WriterOptions,
        after_housekeeping: Callable[[], None] | None = None,
    ) -> None:
        if not conn.autocommit:
            raise ValueError("the writer's connection must be in autocommit mode")
        self.conn = conn
        self.consumer = consumer
        self.sink = sink
        self.options = options
        self.metrics = WriterMetrics(consumer.stream, consumer.consumer)
        self._after_housekeeping = after_housekeeping
        self._next_housekeeping = 0.0

    @property
    def stream(self) -> str:
        return self.consumer.stream

    def start(self) -> None:
        """Join the group and settle what this consumer name left pending before a restart."""
        self.consumer.ensure_group()
        after = b"0"
        while batch := self.consumer.read_own_pending(self.options.batch_entries, after):
            self.load(batch, redelivered=True)
            after = batch[-1].id

    def run(self, stopped: Callable[[], bool]) -> None:
        """Load until ``stopped()``, reading the next batch ahead while one is loading."""
        self.start()
        options = self.options
        with Prefetcher(
            self.consumer, options.batch_entries, options.block_ms, self.sink.prepare
        ) as ahead:
            while not stopped():
                if time.monotonic() >= self._next_housekeeping:
                    self._claim_and_housekeep()
                entries, read_at = ahead.next_batch(timeout=options.block_ms / 1000)
                if not entries:
                    continue
                if time.monotonic() - read_at > options.entry_memory_seconds / 2:
                    # Too old to trust the warehouse still remembers it if another writer
                    # loaded it meanwhile: settle it as a pending entry instead (checked).
                    self.start()
                    continue
                self.load(entries, redelivered=False)

    def step(self, block_ms: int | None = None) -> int:
        """One synchronous round (claim, housekeeping when due, one batch); entries handled."""
        handled = 0
        if time.monotonic() >= self._next_housekeeping:
            handled += self._claim_and_housekeep()
        wait = self.options.block_ms if block_ms is None else block_ms
        fresh = self.consumer.read_new(self.options.batch_entries, wait or None)
        if fresh:
            self.load(fresh, redelivered=False)
        return handled + len(fresh)

    def _claim_and_housekeep(self) -> int:
        stale = self.consumer.claim_stale(self.options.claim_idle_ms, self.options.batch_entries)
        if stale:
            self.load(stale, redelivered=True)
        self.housekeeping()
        return len(stale)

    def load(self, entries: Sequence[Entry], *, redelivered: bool) -> int:
        """Load entries exactly once and acknowledge them; returns rows loaded."""
        gone = [entry.id for entry in entries if not entry.fields]
        if gone:
            # Deleted from the stream before anyone loaded them: nothing left to load.
            log.warning(
                "%s: %d pending entries were deleted from the stream", self.stream, len(gone)
            )
            self.consumer.ack(gone)
        todo = [entry for entry in entries if entry.fields]
        if redelivered:
            todo = self._without_committed(todo)
        rows = 0
        while todo:
            try:
                with self.conn.transaction():
                    loaded = self._load_batch(todo)
            except errors.UniqueViolation as exc:
                if exc.diag.constraint_name != _ENTRIES_KEY:
                    loaded = self._load_one_by_one(todo)
                else:
                    todo = self._without_committed(todo)
                    continue
            except (psycopg.DataError, psycopg.IntegrityError):
                loaded = self._load_one_by_one(todo)
            ids = [entry.id for entry in todo]
            self.consumer.ack(ids)
            self.metrics.committed(loaded.rows, ids, loaded.rejected)
            rows += loaded.rows
            break
        return rows

    def _load_batch(self, entries: Sequence[Entry], *, careful: bool = False) -> Loaded:
        record_entries(self.conn, self.stream, self.consumer.consumer, [e.id for e in entries])
        return self.sink.load(self.conn, entries, careful=careful)

    def _load_one_by_one(self, entries: Sequence[Entry]) -> Loaded:
        rows = rejected = 0
        for entry in entries:
            try:
                with self.conn.transaction():
                    loaded = self._load_batch([entry], careful=True)
            except errors.UniqueViolation as exc:
                if exc.diag.constraint_name == _ENTRIES_KEY:
                    continue  # loaded meanwhile by another writer
                loaded = self._reject(entry, exc)
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                loaded = self._reject(entry, exc)
            rows += loaded.rows
            rejected += loaded.rejected
        return Loaded(rows, rejected)

    def _reject(self, entry: Entry, exc: psycopg.Error) -> Loaded:
        log.warning("%s: rejecting entry %s: %s", self.stream, entry.id.decode(), exc)
        raw = b"".join(entry.fields.values())
        with self.conn.transaction():
            record_entries(self.conn, self.stream, self.consumer.consumer, [entry.id])
            reject(self.conn, self.stream, entry.id, f"{type(exc).__name__}: {exc}", raw)
        return Loaded(0, 1)

    def _without_committed(self, entries: list[Entry]) -> list[Entry]:
        done = committed_among(self.conn, self.stream, (entry.id for entry in entries))
        if done:
            self.consumer.ack(sorted(done))
            self.metrics.skipped(len(done))
        return [entry for entry in entries if entry.id not in done]

    def housekeeping(self) -> None:
        """Trim what every group acknowledged, forget ids Redis cannot redeliver, report."""
        self._next_housekeeping = time.monotonic() + self.options.housekeeping_seconds
        point = self.consumer.safe_trim_point()
        if point is not None:
            if self.options.trim:
                self.consumer.trim_below(point)
            memory = timedelta(seconds=self.options.entry_memory_seconds)
            forget_entries_below(self.conn, self.stream, point, memory)
        self.metrics.publish(self.consumer.client, self.consumer.position())
        if self._after_housekeeping is not None:
            self._after_housekeeping()
