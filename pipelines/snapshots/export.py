"""One warehouse table into Parquet: COPY out through psycopg, parsed into Arrow record
batches, written as one file or as hive-style day folders (``trade_date=YYYY-MM-DD``).

Batches stream through (a bounded number of rows in memory whatever the table's size). The
columns come from the policy and the warehouse's catalogue together: only kept columns that
exist are selected, with their declared precision (NUMERIC(p, s) becomes decimal128(p, s), so
money stays exact); types Arrow has no plain counterpart for (jsonb, uuid, arrays) travel as
text.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as csv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from psycopg import sql

from pipelines.snapshots.policy import SALT, Table
from pipelines.snapshots.trade_dates import trade_dates

BATCH_ROWS = 100_000
PART = "trade_date"  # the hive partition column of every day-partitioned table

_PLAIN: dict[str, pa.DataType] = {
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "bool": pa.bool_(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    select: sql.Composable  # the expression in the COPY's SELECT
    pg_type: str  # as psycopg's set_types names it
    arrow: pa.DataType


@dataclass(frozen=True, slots=True)
class Plan:
    """What one table's export selects, and what the warehouse has that the policy left out."""

    table: Table
    columns: tuple[Column, ...]
    left_out: tuple[str, ...]
    missing: tuple[str, ...]  # kept by the policy but not (or no longer) in the warehouse

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.arrow) for c in self.columns])


def split(relation: str) -> tuple[str, str]:
    schema, _, name = relation.rpartition(".")
    return schema or "public", name


def exists(conn: psycopg.Connection[Any], relation: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()
    return bool(row and row[0])


def plan(conn: psycopg.Connection[Any], table: Table) -> Plan:
    catalogue = conn.execute(
        """SELECT column_name, udt_name, numeric_precision, numeric_scale
           FROM information_schema.columns WHERE table_schema = %s AND table_name = %s
           ORDER BY ordinal_position""",
        split(table.relation),
    ).fetchall()
    found = {name: (udt, precision, scale) for name, udt, precision, scale in catalogue}
    columns = [_column(name, *found[name]) for name in table.keep if name in found]
    columns += [Column(d.name, sql.SQL(d.sql), d.pg_type, _PLAIN[d.pg_type]) for d in table.derived]
    return Plan(
        table,
        tuple(columns),
        left_out=tuple(name for name, *_ in catalogue if name not in table.keep),
        missing=tuple(name for name in table.keep if name not in found),
    )


def _column(name: str, udt: str, precision: int | None, scale: int | None) -> Column:
    ident = sql.Identifier(name)
    if udt == "numeric":
        if precision is None or scale is None:
            raise ValueError(f"{name}: an unconstrained NUMERIC has no exact Arrow type")
        return Column(name, ident, "numeric", pa.decimal128(precision, scale))
    if udt in _PLAIN:
        return Column(name, ident, udt, _PLAIN[udt])
    return Column(name, sql.SQL("{}::text").format(ident), "text", pa.string())


def count(conn: psycopg.Connection[Any], table: Table) -> int:
    """The warehouse's own count, in the export's transaction (what the snapshot must hold)."""
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*split(table.relation)))
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def _copy_out(p: Plan, form: str) -> sql.Composed:
    return sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT {})").format(
        sql.SQL(", ").join(c.select for c in p.columns),
        sql.Identifier(*split(p.table.relation)),
        sql.SQL(form),
    )


def batches(conn: psycopg.Connection[Any], p: Plan, salt: bytes) -> Iterator[pa.RecordBatch]:
    """The table as record batches, each with its trade date when the table is by day.

    The rows come as CSV and Arrow's C++ reader parses them (exactly: NUMERIC text straight
    into decimal128): measured here about five times the rows/s of decoding binary COPY with
    ``read_row`` in Python (:func:`batches_binary`, bench/snapshot_export.py). The session
    must be in UTC with ISO dates (as :func:`session` sets).
    """
    with conn.cursor() as cursor, cursor.copy(_copy_out(p, "CSV"), {SALT: salt}) as copy:
        blocks = iter(copy)
        first = next(blocks, None)
        if first is None:
            return
        reader = csv.open_csv(
            io.BufferedReader(_Blocks(first, blocks), buffer_size=1 << 20),
            read_options=csv.ReadOptions(column_names=p.schema.names, block_size=8 << 20),
            parse_options=csv.ParseOptions(newlines_in_values=True),
            convert_options=csv.ConvertOptions(
                column_types=p.schema,
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,  # NULL is an unquoted empty field...
                quoted_strings_can_be_null=False,  # ... and "" an empty string
            ),
        )
        for batch in reader:
            yield _with_day(p.table, batch)


def batches_binary(
    conn: psycopg.Connection[Any], p: Plan, salt: bytes, rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The same batches through binary COPY, each row decoded by psycopg (``read_row``)."""
    schema = p.schema
    with conn.cursor() as cursor, cursor.copy(_copy_out(p, "BINARY"), {SALT: salt}) as copy:
        copy.set_types([c.pg_type for c in p.columns])
        stream = copy.rows()
        while chunk := list(islice(stream, rows)):
            values = zip(*chunk, strict=True)
            arrays = [pa.array(v, type=f.type) for v, f in zip(values, schema, strict=True)]
            yield _with_day(p.table, pa.RecordBatch.from_arrays(arrays, schema=schema))


def session(conn: psycopg.Connection[Any]) -> None:
    """What the CSV route relies on: UTC timestamps in ISO form, UTF-8 text."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET client_encoding = 'UTF8'")
    conn.execute("SET extra_float_digits = 1")  # floats print in their shortest exact form


_Buffer = bytes | bytearray | memoryview


class _Blocks(io.RawIOBase):
    """COPY's data messages as a readable stream (what Arrow's CSV reader wants)."""

    def __init__(self, first: _Buffer, rest: Iterator[_Buffer]) -> None:
        self._current = memoryview(first)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # as many messages as fit: each is one row, far smaller than the reader's buffer
        space, filled = len(buffer), 0
        while filled < space:
            if not self._current:
                block = next(self._rest, None)
                if block is None:
                    break
                self._current = memoryview(block)
            n = min(space - filled, len(self._current))
            buffer[filled : filled + n] = self._current[:n]
            self._current = self._current[n:]
            filled += n
        return filled


def _with_day(table: Table, batch: pa.RecordBatch) -> pa.RecordBatch:
    if table.day is None:
        return batch
    column = batch.column(table.day.column)
    if pa.types.is_date32(column.type):
        # already a trade date: it moves into the folder name instead of being kept twice
        index = batch.schema.get_field_index(table.day.column)
        return batch.rename_columns(
            [PART if i == index else n for i, n in enumerate(batch.schema.names)]
        )
    return batch.append_column(PART, trade_dates(column, closes=table.day.closes))


def write(
    folder: Path,
    p: Plan,
    source: Iterator[pa.RecordBatch],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the batches under ``folder``; the rows written."""
    folder.mkdir(parents=True)
    written = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal written
        for batch in source:
            written += batch.num_rows
            if progress:
                progress(written)
            yield batch

    schema = _with_day(p.table, pa.RecordBatch.from_pylist([], schema=p.schema)).schema
    stream = counted()
    first = next(stream, None)
    if p.table.day is None or first is None:
        # a reference table, or a day-partitioned one without rows: one file (an empty table
        # still needs a file, for its view's columns)
        with pq.ParquetWriter(folder / "part-0.parquet", schema) as writer:
            for batch in _chain(first, stream):
                writer.write_batch(batch)
        return written
    ds.write_dataset(
        pa.RecordBatchReader.from_batches(schema, _chain(first, stream)),
        folder,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([(PART, pa.date32())]), flavor="hive"),
        basename_template="part-{i}.parquet",
        min_rows_per_group=BATCH_ROWS,
        max_rows_per_group=1_000_000,
        existing_data_behavior="error",
    )
    return written


def _chain(
    first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    if first is not None:
        yield first
        yield from rest
