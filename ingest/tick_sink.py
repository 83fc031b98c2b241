"""Ticks from the ``ticks`` stream into the warehouse by binary COPY.

Each stream entry is one pricing pass: field ``b`` holds a msgpack list of
``brokerstack.streams.Tick`` (array-like, so each tick is a 5-element array). The fast path
decodes those arrays straight into tuples and writes them with ``write_row``; the database's
CHECK constraints validate prices. Only when the database refuses a batch does the careful
path check tick by tick and reject the bad ones.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import msgspec
import psycopg

from brokerstack.streams import TICK_BATCH_FIELD, Tick, encode_ticks
from ingest.consumer import Entry
from ingest.entries import reject
from ingest.writer import Loaded
from warehouse.candles import bucket_ceil, bucket_floor

COPY_TICKS = "COPY ticks (time, symbol, source, bid, ask) FROM STDIN (FORMAT BINARY)"
# timestamptz travels in binary COPY as an int8 of microseconds since 2000-01-01 UTC, so
# dumping that integer as int8 saves building a datetime per tick (the hot path's largest cost).
TICK_TYPES = ["int8", "text", "text", "float8", "float8"]
PG_EPOCH_US = 946_684_800_000_000
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)

RawTick = tuple[int, str, str, float, float]
# A row as COPY takes it: the time already in PostgreSQL microseconds.
Row = tuple[int, str, str, float, float]
_batch_decoder = msgspec.msgpack.Decoder(list[tuple[int, str, str, float, float]])
_first = itemgetter(0)


def decode_batch(data: bytes) -> list[RawTick]:
    """The same wire format as ``brokerstack.streams.decode_ticks``, as plain tuples."""
    return _batch_decoder.decode(data)


def pg_time(pg_us: int) -> datetime:
    return _PG_EPOCH + timedelta(microseconds=pg_us)


@dataclass(frozen=True, slots=True)
class _Batch:
    rows: list[Row]
    earliest: int  # PostgreSQL microseconds
    latest: int


def rows_of(entry: Entry) -> _Batch | Exception:
    """An entry's ticks as COPY rows, or why they cannot be read."""
    try:
        ticks = decode_batch(entry.fields[TICK_BATCH_FIELD])
    except (KeyError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        return exc
    rows = [(ns // 1000 - PG_EPOCH_US, sym, src, bid, ask) for ns, sym, src, bid, ask in ticks]
    if not rows:
        return _Batch(rows, 0, 0)
    return _Batch(rows, min(map(_first, rows)), max(map(_first, rows)))


class TickSink:
    """Loads tick batches; queues the written time window for candle refresh."""

    stream = "ticks"

    def __init__(self, *, queue_candles: bool = True) -> None:
        self.queue_candles = queue_candles
        # Filled by the prefetch thread, emptied by load(); single dict operations are atomic.
        self._prepared: dict[bytes, _Batch | Exception] = {}

    def prepare(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            self._prepared[entry.id] = rows_of(entry)

    def load(
        self, conn: psycopg.Connection[Any], entries: Sequence[Entry], *, careful: bool
    ) -> Loaded:
        count = rejected = 0
        earliest, latest = math.inf, -math.inf
        bad: list[tuple[bytes, str, bytes]] = []
        with conn.cursor() as cursor, cursor.copy(COPY_TICKS) as copy:
            copy.set_types(TICK_TYPES)
            write = copy.write_row
            for entry in entries:
                batch = self._prepared.pop(entry.id, None) or rows_of(entry)
                if isinstance(batch, Exception):
                    bad.append((entry.id, f"undecodable tick batch: {batch!r}", _raw(entry)))
                    continue
                rows = self._valid(entry.id, batch.rows, bad) if careful else batch.rows
                if not rows:
                    continue
                # Drives write_row from C: a Python for-loop costs more than the write itself.
                deque(map(write, rows), maxlen=0)
                count += len(rows)
                earliest = min(earliest, batch.earliest)
                latest = max(latest, batch.latest)
        for entry_id, reason, raw in bad:
            reject(conn, self.stream, entry_id, reason, raw)
            rejected += 1
        if count and self.queue_candles:
            queue_candle_window(conn, int(earliest), int(latest))
        return Loaded(count, rejected)

    @staticmethod
    def _valid(entry_id: bytes, rows: list[Row], bad: list[tuple[bytes, str, bytes]]) -> list[Row]:
        good: list[Row] = []
        for row in rows:
            problem = row_problem(row)
            if problem is None:
                good.append(row)
            else:
                pg_us, symbol, source, bid, ask = row
                tick = Tick((pg_us + PG_EPOCH_US) * 1000, symbol, source, bid, ask)
                bad.append((entry_id, problem, encode_ticks([tick])))
        return good


def row_problem(row: Row) -> str | None:
    """Why the warehouse would refuse this tick, or None."""
    _, symbol, source, bid, ask = row
    if not 0 < bid < math.inf or not 0 < ask < math.inf:
        return f"bid/ask must be positive and finite: {bid!r}/{ask!r}"
    if not symbol or not source or "\x00" in symbol + source:
        return f"symbol and source must be non-empty text: {symbol!r}/{source!r}"
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
