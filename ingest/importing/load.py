"""Load a history file: all of it in one transaction, or nothing; each file at most once.

The import ledger (``ingest_imports``, unique on the file's SHA-256) is written in the same
transaction as the rows, so a file that was loaded is recognised however often it is offered
again, and a failed, rejected or interrupted load leaves neither rows nor a ledger entry
behind. The file is parsed and loaded a chunk at a time (``ImportOptions.chunk_rows``), so
memory does not grow with it; a file with a bad row under ``--on-bad-rows reject`` is still
read to the end, to report every bad row, and its transaction is rolled back. Tick imports
queue their time window for the candle refresh in that transaction too; imported bars go to
``candle_history``, where overlapping files cannot duplicate a bar (primary key).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import psycopg

from ingest.candle_refresh import refresh_queued_candles
from ingest.importing.candle_files import parse_candles
from ingest.importing.files import FileFormat, detect_format, sha256_of, symbol_from_name
from ingest.importing.parse import CHUNK_ROWS, Parsed
from ingest.importing.tick_files import parse_ticks
from ingest.tick_sink import COPY_TICKS, PG_EPOCH_US, TICK_TYPES, queue_candle_window

Progress = Callable[[int], None]
BAD_ROWS_KEPT = 10_000  # bad rows reported in full; beyond these only counted
_CANDLE_TYPES = ["timestamptz", "text", "text", *["float8"] * 4, "int8", "float8"]


class OnBadRows(StrEnum):
    REJECT = "reject"  # load nothing from a file with a bad row
    SKIP = "skip"  # load the good rows, report the bad ones


class Outcome(StrEnum):
    LOADED = "loaded"
    ALREADY_IMPORTED = "already imported"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ImportResult:
    path: Path
    format: FileFormat
    outcome: Outcome
    rows: int = 0  # rows loaded
    duplicates: int = 0  # rows already in the warehouse (candles)
    ignored: int = 0  # rows that are not quotes (MetaTrader trade-only rows)
    bad: pl.DataFrame | None = None  # (line, reason), the first BAD_ROWS_KEPT of them
    bad_rows: int = 0  # every bad row


@dataclass(frozen=True)
class ImportOptions:
    format: FileFormat = FileFormat.AUTO
    symbol: str | None = None
    source: str = "history"
    zone: str = "UTC"
    on_bad_rows: OnBadRows = OnBadRows.REJECT
    timeframe: str = "1m"
    chunk_rows: int = CHUNK_ROWS


@dataclass
class _Tally:
    """What the chunks read so far held."""

    rows: int = 0
    ignored: int = 0
    bad_rows: int = 0
    bad: list[pl.DataFrame] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, parsed: Parsed, time_column: str) -> None:
        self.rows += parsed.rows.height
        self.ignored += parsed.ignored
        kept = BAD_ROWS_KEPT - min(self.bad_rows, BAD_ROWS_KEPT)
        self.bad_rows += parsed.bad.height
        if kept and parsed.bad.height:
            self.bad.append(parsed.bad.head(kept))
        if parsed.rows.height:
            times = parsed.rows.get_column(time_column)
            low, high = times.min(), times.max()
            assert isinstance(low, datetime)
            assert isinstance(high, datetime)
            self.first = low if self.first is None else min(self.first, low)
            self.last = high if self.last is None else max(self.last, high)

    def bad_frame(self) -> pl.DataFrame | None:
        return pl.concat(self.bad) if self.bad else None


class _Rejected(Exception):
    """Rolls the import's transaction back: the file has bad rows and they reject it."""


def already_imported(conn: psycopg.Connection[Any], digest: str) -> bool:
    row = conn.execute("SELECT 1 FROM ingest_imports WHERE file_sha256 = %s", (digest,)).fetchone()
    return row is not None


def import_ticks(
    conn: psycopg.Connection[Any], path: Path, options: ImportOptions, progress: Progress
) -> ImportResult:
    return _import(conn, path, options, progress, kind="ticks")


def import_candles(
    conn: psycopg.Connection[Any], path: Path, options: ImportOptions, progress: Progress
) -> ImportResult:
    return _import(conn, path, options, progress, kind="candles")


def _chunks(path: Path, fmt: FileFormat, options: ImportOptions, kind: str) -> Iterator[Parsed]:
    parser = parse_ticks if kind == "ticks" else parse_candles
    symbol = options.symbol or symbol_from_name(path)
    return parser(path, fmt, symbol, options.source, options.zone, options.chunk_rows)


def _import(
    conn: psycopg.Connection[Any],
    path: Path,
    options: ImportOptions,
    progress: Progress,
    kind: str,
) -> ImportResult:
    if not conn.autocommit:
        raise ValueError("imports need a connection in autocommit mode")
    digest = sha256_of(path)
    fmt = detect_format(path, options.format)
    if already_imported(conn, digest):
        return ImportResult(path, fmt, Outcome.ALREADY_IMPORTED)
    chunks = _chunks(path, fmt, options, kind)
    tally = _Tally()
    rejecting = options.on_bad_rows is OnBadRows.REJECT
    try:
        with conn.transaction():
            import_id = _ledger(conn, path, digest, kind, fmt)
            if import_id is None:  # another import of the same file committed first
                return ImportResult(path, fmt, Outcome.ALREADY_IMPORTED)
            loader: _Loader = (
                _TickLoader(conn) if kind == "ticks" else _CandleLoader(conn, options, import_id)
            )
            for parsed in chunks:
                tally.add(parsed, "time" if kind == "ticks" else "bucket")
                if not (rejecting and tally.bad_rows):  # else read on only to report
                    loader.load(parsed.rows)
                    progress(parsed.rows.height)
            if rejecting and tally.bad_rows:
                raise _Rejected
            loaded = loader.finish()
            conn.execute(
                """UPDATE ingest_imports SET rows_loaded = %s, rows_skipped = %s,
                          first_time = %s, last_time = %s
                   WHERE id = %s""",
                (loaded, tally.bad_rows, tally.first, tally.last, import_id),
            )
    except _Rejected:
        return ImportResult(
            path, fmt, Outcome.REJECTED, ignored=tally.ignored, bad=tally.bad_frame(),
            bad_rows=tally.bad_rows,
        )  # fmt: skip
    if kind == "ticks":
        refresh_queued_candles(conn)
    return ImportResult(
        path, fmt, Outcome.LOADED, loaded, tally.rows - loaded, tally.ignored, tally.bad_frame(),
        tally.bad_rows,
    )  # fmt: skip


def _ledger(
    conn: psycopg.Connection[Any], path: Path, digest: str, kind: str, fmt: FileFormat
) -> int | None:
    """Claim the file first: a concurrent import of it waits here, then finds it loaded."""
    row = conn.execute(
        """
        INSERT INTO ingest_imports (file_sha256, file_name, kind, format, rows_loaded,
                                    rows_skipped)
        VALUES (%s, %s, %s, %s, 0, 0)
        ON CONFLICT (file_sha256) DO NOTHING
        RETURNING id
        """,
        (digest, path.name, kind, str(fmt)),
    ).fetchone()
    return None if row is None else int(row[0])


class _Loader(Protocol):
    def load(self, rows: pl.DataFrame) -> None: ...

    def finish(self) -> int:
        """Rows that went into the warehouse."""
        ...


class _TickLoader:
    """One COPY per chunk straight into ``ticks``, then the whole window queued for candles."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.plain = _plain_storage(conn)
        self.loaded = 0
        self.earliest: int | None = None
        self.latest: int | None = None

    def load(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        frame = rows.select(
            (pl.col("time").dt.epoch("us") - PG_EPOCH_US).alias("time"),
            "symbol",
            "source",
            "bid",
            "ask",
        )
        times = frame.get_column("time")
        earliest, latest = int(times.min()), int(times.max())  # type: ignore[arg-type]
        if self.plain:
            # Old history gets its own monthly partitions, so retention can drop it by month.
            stamps = rows.get_column("time")
            self.conn.execute("SELECT create_tick_partitions(%s, %s)", (stamps.min(), stamps.max()))
        with self.conn.cursor() as cursor, cursor.copy(COPY_TICKS) as copy:
            copy.set_types(TICK_TYPES)
            deque(map(copy.write_row, frame.iter_rows()), maxlen=0)
        self.loaded += frame.height
        self.earliest = earliest if self.earliest is None else min(self.earliest, earliest)
        self.latest = latest if self.latest is None else max(self.latest, latest)

    def finish(self) -> int:
        if self.earliest is not None and self.latest is not None:
            queue_candle_window(self.conn, self.earliest, self.latest)
        return self.loaded


class _CandleLoader:
    """Chunks COPYed into a temporary table, then inserted once, skipping bars already kept."""

    def __init__(
        self, conn: psycopg.Connection[Any], options: ImportOptions, import_id: int
    ) -> None:
        self.conn = conn
        self.timeframe = options.timeframe
        self.import_id = import_id
        conn.execute(
            """
            CREATE TEMPORARY TABLE candle_import (
                bucket timestamptz, symbol text, source text, open float8, high float8,
                low float8, close float8, tick_count bigint, volume float8
            ) ON COMMIT DROP
            """
        )

    def load(self, rows: pl.DataFrame) -> None:
        copy_sql = "COPY candle_import FROM STDIN (FORMAT BINARY)"
        with self.conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            copy.set_types(_CANDLE_TYPES)
            deque(map(copy.write_row, rows.iter_rows()), maxlen=0)

    def finish(self) -> int:
        cursor = self.conn.execute(
            """
            INSERT INTO candle_history (timeframe, bucket, symbol, source, bid_open, bid_high,
                                        bid_low, bid_close, tick_count, volume, import_id)
            SELECT %s, bucket, symbol, source, open, high, low, close, tick_count, volume, %s
            FROM candle_import
            ON CONFLICT (symbol, source, timeframe, bucket) DO NOTHING
            """,
            (self.timeframe, self.import_id),
        )
        return cursor.rowcount


def _plain_storage(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT value FROM warehouse_meta WHERE key = 'storage_path'").fetchone()
    return row is None or row[0] != "timescale"
