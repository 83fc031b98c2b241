"""What parsing tick and candle files with polars shares: a chunk's fields, columns by header
name, numbers, times, and each bad row's first reason.

Text rows come split into fields by the CSV reader (``files.text_rows``), each with the
physical line it starts on, ragged rows included. A row is either good, bad
(with the first reason found), or — MetaTrader ticks only — a trade-only row without a bid/ask
change, which is not a quote and is counted as ignored. Files are parsed one chunk of rows at
a time (``tick_files``, ``candle_files``), so memory does not grow with the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ingest.importing.files import ImportFileError

CHUNK_ROWS = 100_000  # rows parsed, held and loaded at a time
UTC_US = pl.Datetime("us", "UTC")
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y.%m.%d %H:%M:%S%.f")
MT5_TIME = "%Y.%m.%d %H:%M:%S%.f"


@dataclass(frozen=True)
class Parsed:
    """One chunk: good rows ready to load, and the bad ones as (line, reason)."""

    rows: pl.DataFrame
    bad: pl.DataFrame
    ignored: int = 0


def header_names(fields: list[str]) -> list[str]:
    return [name.strip().strip("<>").lower() for name in fields]


def malformed() -> tuple[pl.Expr, pl.Expr]:
    """The first check of a text row: the CSV reader could split it into fields."""
    return pl.col("malformed").is_not_null(), pl.col("malformed")


def column(header: list[str], names: tuple[str, ...], required: bool = True) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    if required:
        raise ImportFileError(f"the header has no {names[0]} column (found: {', '.join(header)})")
    return None


def field_text(index: int | None) -> pl.Expr:
    if index is None:
        return pl.lit("", dtype=pl.String)
    return pl.col("fields").list.get(index, null_on_oob=True).str.strip_chars().fill_null("")


def number(text: pl.Expr) -> pl.Expr:
    return text.cast(pl.Float64, strict=False)


def parse_time(text: pl.Expr, zone: str, formats: tuple[str, ...] = _NAIVE_FORMATS) -> pl.Expr:
    """Text with an offset is taken as is; naive text is local time in ``zone``."""
    aware = [text.str.strptime(UTC_US, fmt, strict=False) for fmt in _AWARE_FORMATS]
    naive = pl.coalesce(
        *[text.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in formats]
    )
    local = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return pl.coalesce(*aware, local.dt.convert_time_zone("UTC"))


def parquet_time(schema: dict[str, pl.DataType], column: str, zone: str) -> pl.Expr:
    """Datetime columns as stored (naive ones are local time in ``zone``); text is parsed."""
    dtype = schema[column]
    if isinstance(dtype, pl.Datetime):
        value = pl.col(column).cast(pl.Datetime("us", dtype.time_zone))
        if dtype.time_zone is None:
            value = value.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        return value.dt.convert_time_zone("UTC")
    return parse_time(pl.col(column).cast(pl.String), zone)


def as_text(name: str, present: bool = True) -> pl.Expr:
    """A Parquet column as text (empty when missing or null), for the same checks as text."""
    return pl.col(name).cast(pl.String).fill_null("") if present else pl.lit("")


def first_reason(*checks: tuple[pl.Expr, pl.Expr]) -> pl.Expr:
    """The reason of the first failing check, or null when the row is good."""
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for failed, reason in reversed(checks):
        expr = pl.when(failed).then(reason).otherwise(expr)
    return expr


def not_a_number(name: str, value: pl.Expr) -> pl.Expr:
    return pl.lit(f"{name} is not a number: '") + value + pl.lit("'")


def positive(*columns: str) -> pl.Expr:
    return pl.all_horizontal([(pl.col(c) > 0) & pl.col(c).is_finite() for c in columns])


def split(frame: pl.DataFrame, columns: list[str], ignored: int = 0) -> Parsed:
    bad = frame.filter(pl.col("reason").is_not_null()).select("line", "reason")
    return Parsed(frame.filter(pl.col("reason").is_null()).select(columns), bad, ignored)
