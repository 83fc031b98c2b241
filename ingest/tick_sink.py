"""Ticks from the ``ticks`` stream into the warehouse by binary COPY, with no work per tick.

Each stream entry is one pricing pass: field ``b`` holds a tick batch
(``brokerstack.streams.encode_ticks``), a small header followed by the ticks already as
PostgreSQL binary COPY tuples of ``ticks (time, symbol, source, bid, ask)``. The fast path
checks each entry's header, writes the tuples of the whole batch to one COPY between one
signature and one trailer, and compares the rows COPY counted with the headers' counts; the
database's CHECK constraints validate prices. Only when the database refuses a batch does the
careful path decode each entry completely and reject the bad ticks (or the entry).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

# PG_EPOCH_US is re-exported for the importers, which write rows of the same table.
from brokerstack.streams import PG_EPOCH_US as PG_EPOCH_US
from brokerstack.streams import (
    TICK_BATCH_FIELD,
    TICK_BATCH_HEADER,
    TICK_COPY_COLUMNS,
    Tick,
    TickBatchError,
    decode_ticks,
    encode_ticks,
    tick_batch_header,
)
from ingest.consumer import Entry
from ingest.entries import reject
from ingest.writer import Loaded
from warehouse.candles import bucket_ceil, bucket_floor

COPY_TICKS = f"COPY ticks ({', '.join(TICK_COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# For writers of rows (the importers): timestamptz travels in binary COPY as an int8 of
# microseconds since 2000-01-01 UTC, so dumping that integer saves a datetime per tick.
TICK_TYPES = ["int8", "text", "text", "float8", "float8"]
# What frames the tuples of a binary COPY: signature, flags, header extension; end marker.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)


def pg_time(pg_us: int) -> datetime:
    return _PG_EPOCH + timedelta(microseconds=pg_us)


@dataclass(frozen=True, slots=True)
class TickBatch:
    """An entry's ticks as COPY tuples, ready to be written as they are."""

    tuples: memoryview
    count: int
    earliest: int  # PostgreSQL microseconds
    latest: int


def batch_of(data: bytes) -> TickBatch:
    """The COPY tuples of a tick batch after a cheap header check; ``TickBatchError`` if bad."""
    count, earliest, latest = tick_batch_header(data)
    return TickBatch(memoryview(data)[TICK_BATCH_HEADER.size :], count, earliest, latest)


def entry_batch(entry: Entry) -> TickBatch | Exception:
    """An entry's tick batch, or why it cannot be one."""
    try:
        return batch_of(entry.fields[TICK_BATCH_FIELD])
    except (KeyError, TickBatchError) as exc:
        return exc


@dataclass(frozen=True, slots=True)
class CopyData:
    """A batch of entries as one binary COPY, and what could not be part of it."""

    data: bytes
    count: int
    earliest: int
    latest: int
    bad: list[tuple[bytes, str, bytes]]  # entry id, reason, raw bytes


class TickSink:
    """Loads tick batches; queues the written time window for candle refresh."""

    stream = "ticks"

    def __init__(self, *, queue_candles: bool = True) -> None:
        self.queue_candles = queue_candles

    def prepare(self, entries: Sequence[Entry]) -> CopyData:
        """The fast path's COPY, built on the prefetch thread while the previous one runs."""
        return copy_data(entries, careful=False)

    def load(
        self,
        conn: psycopg.Connection[Any],
        entries: Sequence[Entry],
        *,
        careful: bool,
        prepared: object = None,
    ) -> Loaded:
        if careful or not isinstance(prepared, CopyData):
            prepared = copy_data(entries, careful=careful)
        if prepared.count:
            _copy(conn, prepared.data, prepared.count)
        for entry_id, reason, raw in prepared.bad:
            reject(conn, self.stream, entry_id, reason, raw)
        if prepared.count and self.queue_candles:
            queue_candle_window(conn, prepared.earliest, prepared.latest)
        return Loaded(prepared.count, len(prepared.bad))


def copy_data(entries: Sequence[Entry], *, careful: bool) -> CopyData:
    """The entries' tuples between one signature and one trailer; careful: checked in full."""
    count = 0
    earliest, latest = math.inf, -math.inf
    bad: list[tuple[bytes, str, bytes]] = []
    parts: list[bytes | memoryview] = [COPY_SIGNATURE]
    for entry in entries:
        batch = _careful_batch(entry, bad) if careful else entry_batch(entry)
        if isinstance(batch, Exception):
            bad.append((entry.id, f"undecodable tick batch: {batch!r}", _raw(entry)))
            continue
        if not batch.count:
            continue
        parts.append(batch.tuples)
        count += batch.count
        earliest = min(earliest, batch.earliest)
        latest = max(latest, batch.latest)
    if not count:
        return CopyData(b"", 0, 0, 0, bad)
    parts.append(COPY_TRAILER)
    return CopyData(b"".join(parts), count, int(earliest), int(latest), bad)


def _careful_batch(entry: Entry, bad: list[tuple[bytes, str, bytes]]) -> TickBatch | Exception:
    """The entry decoded in full, its bad ticks rejected, the good ones encoded again."""
    try:
        ticks = decode_ticks(entry.fields[TICK_BATCH_FIELD])
    except (KeyError, TickBatchError) as exc:
        return exc
    good: list[Tick] = []
    for tick in ticks:
        problem = tick_problem(tick)
        if problem is None:
            good.append(tick)
        else:
            bad.append((entry.id, problem, encode_ticks([tick])))
    return batch_of(encode_ticks(good))


def _copy(conn: psycopg.Connection[Any], data: bytes, count: int) -> None:
    with conn.cursor() as cursor:
        with cursor.copy(COPY_TICKS) as copy:
            copy.write(data)
        if cursor.rowcount != count:
            # Tuples that parse into another number of rows than the headers announce: a
            # malformed entry COPY did not notice. The careful path finds it.
            raise psycopg.DataError(f"COPY loaded {cursor.rowcount} ticks, expected {count}")


def tick_problem(tick: Tick) -> str | None:
    """Why the warehouse would refuse this tick, or None."""
    if not 0 < tick.bid < math.inf or not 0 < tick.ask < math.inf:
        return f"bid/ask must be positive and finite: {tick.bid!r}/{tick.ask!r}"
    if not tick.symbol or not tick.source or "\x00" in tick.symbol + tick.source:
        return f"symbol and source must be non-empty text: {tick.symbol!r}/{tick.source!r}"
    return None


def queue_candle_window(conn: psycopg.Connection[Any], earliest: int, latest: int) -> None:
    """Record, in the loading transaction, that candles over these minutes need a refresh."""
    start = bucket_floor(pg_time(earliest), _MINUTE)
    end = bucket_ceil(pg_time(latest) + timedelta(microseconds=1), _MINUTE)
    conn.execute(
        "INSERT INTO candle_refresh_queue (window_start, window_end) VALUES (%s, %s)",
        (start, end),
    )


def _raw(entry: Entry) -> bytes:
    return b"".join(entry.fields.values())
