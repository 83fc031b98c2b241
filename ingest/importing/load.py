"""Load a parsed history file: all of it in one transaction, or nothing; each file at most once.

The import ledger (``ingest_imports``, unique on the file's SHA-256) is written in the same
transaction as the rows, so a file that was loaded is recognised however often it is offered
again, and a failed or interrupted load leaves neither rows nor a ledger entry behind. Tick
imports queue their time window for the candle refresh in that transaction too; imported bars
go to ``candle_history``, where overlapping files cannot duplicate a bar (primary key).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl
import psycopg

from ingest.candle_refresh import refresh_queued_candles
from ingest.importing.files import FileFormat, detect_format, sha256_of, symbol_from_name
from ingest.importing.parse import Parsed, parse_candles, parse_ticks
from ingest.tick_sink import COPY_TICKS, PG_EPOCH_US, TICK_TYPES, queue_candle_window

Progress = Callable[[int], None]
_CHUNK_ROWS = 50_000


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
    bad: pl.DataFrame | None = None  # (line, reason)

    @property
    def bad_rows(self) -> int:
        return 0 if self.bad is None else self.bad.height


@dataclass(frozen=True)
class ImportOptions:
    format: FileFormat = FileFormat.AUTO
    symbol: str | None = None
    source: str = "history"
    zone: str = "UTC"
    on_bad_rows: OnBadRows = OnBadRows.REJECT
    timeframe: str = "1m"


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


def parse(path: Path, options: ImportOptions, kind: str) -> tuple[FileFormat, Parsed]:
    fmt = detect_format(path, options.format)
    parser = parse_ticks if kind == "ticks" else parse_candles
    symbol = options.symbol or symbol_from_name(path)
    return fmt, parser(path, fmt, symbol, options.source, options.zone)


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
    if already_imported(conn, digest):
        return ImportResult(path, detect_format(path, options.format), Outcome.ALREADY_IMPORTED)
    fmt, parsed = parse(path, options, kind)
    bad = parsed.bad if parsed.bad.height else None
    if bad is not None and options.on_bad_rows is OnBadRows.REJECT:
        return ImportResult(path, fmt, Outcome.REJECTED, ignored=parsed.ignored, bad=bad)
    with conn.transaction():
        import_id = _ledger(conn, path, digest, kind, fmt, parsed)
        if import_id is None:  # another import of the same file committed first
            return ImportResult(path, fmt, Outcome.ALREADY_IMPORTED)
        if kind == "ticks":
            loaded, duplicates = _load_ticks(conn, parsed.rows, progress), 0
        else:
            loaded = _load_candles(conn, parsed.rows, options.timeframe, import_id, progress)
            duplicates = parsed.rows.height - loaded
        conn.execute(
            "UPDATE ingest_imports SET rows_loaded = %s WHERE id = %s", (loaded, import_id)
        )
    if kind == "ticks":
        refresh_queued_candles(conn)
    return ImportResult(path, fmt, Outcome.LOADED, loaded, duplicates, parsed.ignored, bad)


def _ledger(
    conn: psycopg.Connection[Any],
    path: Path,
    digest: str,
    kind: str,
    fmt: FileFormat,
    parsed: Parsed,
) -> int | None:
    time_column = "time" if kind == "ticks" else "bucket"
    times = parsed.rows.get_column(time_column)
    row = conn.execute(
        """
        INSERT INTO ingest_imports (file_sha256, file_name, kind, format, rows_loaded,
                                    rows_skipped, first_time, last_time)
        VALUES (%s, %s, %s, %s, 0, %s, %s, %s)
        ON CONFLICT (file_sha256) DO NOTHING
        RETURNING id
        """,
        (digest, path.name, kind, str(fmt), parsed.bad.height, times.min(), times.max()),
    ).fetchone()
    return None if row is None else int(row[0])


def _chunks(frame: pl.DataFrame) -> Iterator[list[tuple[Any, ...]]]:
    for offset in range(0, frame.height, _CHUNK_ROWS):
        yield frame.slice(offset, _CHUNK_ROWS).rows()


def _load_ticks(conn: psycopg.Connection[Any], rows: pl.DataFrame, progress: Progress) -> int:
    if rows.height == 0:
        return 0
    frame = rows.select(
        (pl.col("time").dt.epoch("us") - PG_EPOCH_US).alias("time"),
        "symbol",
        "source",
        "bid",
        "ask",
    )
    earliest, latest = frame.get_column("time").min(), frame.get_column("time").max()
    if _plain_storage(conn):
        # Old history gets its own monthly partitions, so retention can drop it by month.
        conn.execute(
            "SELECT create_tick_partitions(%s, %s)",
            (rows.get_column("time").min(), rows.get_column("time").max()),
        )
    with conn.cursor() as cursor, cursor.copy(COPY_TICKS) as copy:
        copy.set_types(TICK_TYPES)
        for chunk in _chunks(frame):
            deque(map(copy.write_row, chunk), maxlen=0)
            progress(len(chunk))
    queue_candle_window(conn, int(earliest), int(latest))  # type: ignore[arg-type]
    return frame.height


def _load_candles(
    conn: psycopg.Connection[Any],
    rows: pl.DataFrame,
    timeframe: str,
    import_id: int,
    progress: Progress,
) -> int:
    conn.execute(
        """
        CREATE TEMPORARY TABLE candle_import (
            bucket timestamptz, symbol text, source text, open float8, high float8,
            low float8, close float8, tick_count bigint, volume float8
        ) ON COMMIT DROP
        """
    )
    with (
        conn.cursor() as cursor,
        cursor.copy("COPY candle_import FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(
            [
                "timestamptz",
                "text",
                "text",
                "float8",
                "float8",
                "float8",
                "float8",
                "int8",
                "float8",
            ]
        )
        for chunk in _chunks(rows):
            deque(map(copy.write_row, chunk), maxlen=0)
            progress(len(chunk))
    cursor = conn.execute(
        """
        INSERT INTO candle_history (timeframe, bucket, symbol, source, bid_open, bid_high,
                                    bid_low, bid_close, tick_count, volume, import_id)
        SELECT %s, bucket, symbol, source, open, high, low, close, tick_count, volume, %s
        FROM candle_import
        ON CONFLICT (symbol, source, timeframe, bucket) DO NOTHING
        """,
        (timeframe, import_id),
    )
    return cursor.rowcount


def _plain_storage(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT value FROM warehouse_meta WHERE key = 'storage_path'").fetchone()
    return row is None or row[0] != "timescale"
