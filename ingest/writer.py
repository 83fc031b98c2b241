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

Given a spare connection, ``run`` COPYs the next batch on one connection while the previous
batch is settled on the other (``ingest.committer``): ids recorded, committed, acknowledged,
one batch at a time and in stream order, each ``XACK`` after its commit.

Backpressure is the loop itself: a writer holds at most three batches of ``batch_entries``
entries (one read ahead, ``ingest.prefetch``, one COPYing and one settling) and reads more
only as batches commit, so a slow warehouse leaves the backlog in Redis and memory stays
bounded.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import psycopg
from psycopg import errors

from ingest.committer import Committer
from ingest.consumer import Entry, StreamConsumer
from ingest.entries import (
    advance_offset,
    committed_among,
    forget_entries_below,
    record_entries,
    reject,
)
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

    def prepare(self, entries: Sequence[Entry]) -> object:
        """Work ahead of ``load`` on the prefetch thread (no database access); what it returns
        is handed to the fast path's ``load`` as ``prepared``."""

    def load(
        self,
        conn: psycopg.Connection[Any],
        entries: Sequence[Entry],
        *,
        careful: bool,
        prepared: object = None,
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
        after_housekeeping: Callable[[psycopg.Connection[Any]], None] | None = None,
        spare: psycopg.Connection[Any] | None = None,
    ) -> None:
        if not conn.autocommit or (spare is not None and not spare.autocommit):
            raise ValueError("the writer's connections must be in autocommit mode")
        self.conn = conn
        # Where ``run`` loads a batch while the previous one commits on the other connection.
        self.spare = spare
        self._idle = conn
        self.consumer = consumer
        self.sink = sink
        self.options = options
        self.metrics = WriterMetrics(consumer.stream, consumer.consumer)
        self._after_housekeeping = after_housekeeping
        self._next_housekeeping = 0.0
        self.last_pass = time.monotonic()  # when the writer last went round: it is alive

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
        """Load until ``stopped()``, reading the next batch ahead while one is loading and,
        with a spare connection, loading it while the previous one commits."""
        self.start()
        options = self.options
        with (
            Prefetcher(
                self.consumer, options.batch_entries, options.block_ms, self.sink.prepare
            ) as ahead,
            Committer() as committer,
        ):
            while not stopped():
                self.last_pass = time.monotonic()
                entries, read_at, prepared = ahead.next_batch(timeout=options.block_ms / 1000)
                if entries and time.monotonic() - read_at > options.entry_memory_seconds / 2:
                    # Too old to trust the warehouse still remembers it if another writer
                    # loaded it meanwhile: settle it as a pending entry instead (checked).
                    committer.wait()
                    self.start()
                    continue
                if entries and self.spare is not None:
                    self._load_ahead(entries, prepared, committer, self.spare)
                    continue
                committer.wait()
                if self._housekeeping_due():
                    self._claim_and_housekeep(self.conn)
                if entries:
                    self._load_on(self.conn, entries, redelivered=False, prepared=prepared)

    def _load_ahead(
        self,
        entries: list[Entry],
        prepared: object,
        committer: Committer,
        spare: psycopg.Connection[Any],
    ) -> None:
        """COPY new entries on the idle connection; ``committer`` settles the transaction.

        Only the COPY holds up the next batch: the bookkeeping, the commit, the ``XACK`` and
        housekeeping when due run on the commit thread, on this connection, while the next
        batch loads on the other one.
        """
        conn = self._idle
        self._idle = spare if conn is self.conn else self.conn
        conn.execute("BEGIN")
        loaded: Loaded | None
        try:
            loaded = self.sink.load(conn, entries, careful=False, prepared=prepared)
        except BaseException as exc:
            with contextlib.suppress(psycopg.Error):  # a broken connection is closed anyway
                conn.rollback()
            if not isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)):
                raise
            loaded = None
        housekeep = self._housekeeping_due()
        committer.submit(lambda: self._settle(conn, entries, loaded, housekeep=housekeep))

    def _settle(
        self,
        conn: psycopg.Connection[Any],
        entries: list[Entry],
        loaded: Loaded | None,
        *,
        housekeep: bool,
    ) -> None:
        """Record, commit and acknowledge a COPYed batch; refused, load it as ``load`` does."""
        ids = [entry.id for entry in entries]
        if loaded is not None and self._commit(conn, ids):
            self._acknowledge(ids, loaded)
        else:  # bad input or a claim race (unique entry id): sorted out as in line
            self._load_on(conn, entries, redelivered=False)
        if housekeep:
            self._claim_and_housekeep(conn)

    def _commit(self, conn: psycopg.Connection[Any], ids: list[bytes]) -> bool:
        """Record the ids in the open transaction and commit it; False if refused."""
        try:
            self._record(conn, ids)
            conn.commit()
        except (psycopg.DataError, psycopg.IntegrityError):
            conn.rollback()
            return False
        return True

    def _housekeeping_due(self) -> bool:
        if time.monotonic() < self._next_housekeeping:
            return False
        self._next_housekeeping = time.monotonic() + self.options.housekeeping_seconds
        return True

    def _acknowledge(self, ids: list[bytes], loaded: Loaded) -> None:
        self.consumer.ack(ids)
        self.metrics.committed(loaded.rows, ids, loaded.rejected)

    def step(self, block_ms: int | None = None) -> int:
        """One synchronous round (claim, housekeeping when due, one batch); entries handled."""
        handled = 0
        self.last_pass = time.monotonic()
        if self._housekeeping_due():
            handled += self._claim_and_housekeep(self.conn)
        wait = self.options.block_ms if block_ms is None else block_ms
        fresh = self.consumer.read_new(self.options.batch_entries, wait or None)
        if fresh:
            self.load(fresh, redelivered=False)
        return handled + len(fresh)

    def _claim_and_housekeep(self, conn: psycopg.Connection[Any]) -> int:
        stale = self.consumer.claim_stale(self.options.claim_idle_ms, self.options.batch_entries)
        if stale:
            self._load_on(conn, stale, redelivered=True)
        self._housekeep(conn)
        return len(stale)

    def load(self, entries: Sequence[Entry], *, redelivered: bool) -> int:
        """Load entries exactly once and acknowledge them; returns rows loaded."""
        return self._load_on(self.conn, entries, redelivered=redelivered)

    def _load_on(
        self,
        conn: psycopg.Connection[Any],
        entries: Sequence[Entry],
        *,
        redelivered: bool,
        prepared: object = None,
    ) -> int:
        gone = [entry.id for entry in entries if not entry.fields]
        if gone:
            # Deleted from the stream before anyone loaded them: nothing left to load.
            log.warning(
                "%s: %d pending entries were deleted from the stream", self.stream, len(gone)
            )
            self.consumer.ack(gone)
        todo = [entry for entry in entries if entry.fields]
        if redelivered:
            todo = self._without_committed(conn, todo)
        rows = 0
        while todo:
            try:
                with conn.transaction():
                    loaded = self._load_batch(conn, todo, prepared=prepared)
            except errors.UniqueViolation as exc:
                if exc.diag.constraint_name != _ENTRIES_KEY:
                    loaded = self._load_one_by_one(conn, todo)
                else:
                    todo, prepared = self._without_committed(conn, todo), None
                    continue
            except (psycopg.DataError, psycopg.IntegrityError):
                loaded = self._load_one_by_one(conn, todo)
            self._acknowledge([entry.id for entry in todo], loaded)
            rows += loaded.rows
            break
        return rows

    def _load_batch(
        self,
        conn: psycopg.Connection[Any],
        entries: Sequence[Entry],
        *,
        careful: bool = False,
        prepared: object = None,
    ) -> Loaded:
        loaded = self.sink.load(conn, entries, careful=careful, prepared=prepared)
        self._record(conn, [entry.id for entry in entries])
        return loaded

    def _record(self, conn: psycopg.Connection[Any], ids: list[bytes]) -> None:
        """The entry ids and the offset, after the rows: the offset row stays locked until
        the commit, so it comes last."""
        record_entries(conn, self.stream, self.consumer.consumer, ids)
        advance_offset(conn, self.stream, self.consumer.consumer, ids)

    def _load_one_by_one(self, conn: psycopg.Connection[Any], entries: Sequence[Entry]) -> Loaded:
        rows = rejected = 0
        for entry in entries:
            try:
                with conn.transaction():
                    loaded = self._load_batch(conn, [entry], careful=True)
            except errors.UniqueViolation as exc:
                if exc.diag.constraint_name == _ENTRIES_KEY:
                    continue  # loaded meanwhile by another writer
                loaded = self._reject(conn, entry, exc)
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                loaded = self._reject(conn, entry, exc)
            rows += loaded.rows
            rejected += loaded.rejected
        return Loaded(rows, rejected)

    def _reject(self, conn: psycopg.Connection[Any], entry: Entry, exc: psycopg.Error) -> Loaded:
        log.warning("%s: rejecting entry %s: %s", self.stream, entry.id.decode(), exc)
        raw = b"".join(entry.fields.values())
        with conn.transaction():
            reject(conn, self.stream, entry.id, f"{type(exc).__name__}: {exc}", raw)
            self._record(conn, [entry.id])
        return Loaded(0, 1)

    def _without_committed(
        self, conn: psycopg.Connection[Any], entries: list[Entry]
    ) -> list[Entry]:
        done = committed_among(conn, self.stream, (entry.id for entry in entries))
        if done:
            self.consumer.ack(sorted(done))
            self.metrics.skipped(len(done))
        return [entry for entry in entries if entry.id not in done]

    def housekeeping(self) -> None:
        """Trim what every group acknowledged, forget ids Redis cannot redeliver, report."""
        self._next_housekeeping = time.monotonic() + self.options.housekeeping_seconds
        self._housekeep(self.conn)

    def _housekeep(self, conn: psycopg.Connection[Any]) -> None:
        point = self.consumer.safe_trim_point()
        if point is not None:
            if self.options.trim:
                self.consumer.trim_below(point)
            memory = timedelta(seconds=self.options.entry_memory_seconds)
            forget_entries_below(conn, self.stream, point, memory)
        self.metrics.report(self.consumer.position())
        if self._after_housekeeping is not None:
            self._after_housekeeping(conn)
