"""Candle (bar) history files, parsed a chunk at a time: MetaTrader 5 exports, CSV, Parquet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from ingest.importing.files import (
    FileFormat,
    ImportFileError,
    parquet_batches,
    parquet_schema,
    text_rows,
)
from ingest.importing.parse import (
    MT5_TIME,
    Parsed,
    as_text,
    column,
    field_text,
    first_reason,
    header_names,
    malformed,
    not_a_number,
    number,
    parquet_time,
    parse_time,
    positive,
    split,
)

PRICE_COLUMNS = ("open", "high", "low", "close")
CANDLE_COLUMNS = ["bucket", "symbol", "source", *PRICE_COLUMNS, "tick_count", "volume"]


def parse_candles(
    path: Path, fmt: FileFormat, symbol: str | None, source: str, zone: str, chunk_rows: int
) -> Iterator[Parsed]:
    if fmt is FileFormat.MT5:
        if not symbol:
            raise ImportFileError("MetaTrader bar files carry no symbol: pass --symbol")
        return mt5_candles(path, symbol, source, zone, chunk_rows)
    if fmt is FileFormat.PARQUET:
        return parquet_candles(path, source, zone, chunk_rows)
    return csv_candles(path, source, zone, chunk_rows)


def mt5_candles(
    path: Path, symbol: str, source: str, zone: str, chunk_rows: int
) -> Iterator[Parsed]:
    """MetaTrader 5 bars: <DATE> [<TIME>] <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>."""
    with text_rows(path, chunk_rows, "\t") as (first, chunks):
        header = header_names(first)
        time_i = column(header, ("time",), required=False)
        stamp = (
            field_text(column(header, ("date",)))
            + pl.lit(" ")
            + (field_text(time_i) if time_i is not None else pl.lit("00:00:00"))
        )
        fields = (
            stamp.alias("time_text"),
            parse_time(stamp, zone, (MT5_TIME,)).alias("bucket"),
            pl.lit(symbol).alias("symbol"),
            pl.lit(source).alias("source"),
            field_text(column(header, ("tickvol",), required=False)).alias("tick_count_text"),
            field_text(column(header, ("vol", "volume"), required=False)).alias("volume_text"),
            *(field_text(column(header, (name,))).alias(f"{name}_text") for name in PRICE_COLUMNS),
            (pl.col("fields").list.len() < len(header)).alias("short"),
        )
        for chunk in chunks:
            yield _candles(chunk.with_columns(*fields))


def csv_candles(path: Path, source: str, zone: str, chunk_rows: int) -> Iterator[Parsed]:
    """``time,symbol,open,high,low,close[,tick_count][,volume]`` with a header."""
    with text_rows(path, chunk_rows, ",") as (first, chunks):
        header = header_names(first)
        fields = (
            field_text(column(header, ("time", "timestamp", "bucket"))).alias("time_text"),
            field_text(column(header, ("symbol",))).alias("symbol"),
            field_text(column(header, ("source",), required=False)).alias("source_text"),
            field_text(column(header, ("tick_count", "tickvol"), required=False)).alias(
                "tick_count_text"
            ),
            field_text(column(header, ("volume", "vol"), required=False)).alias("volume_text"),
            *(field_text(column(header, (name,))).alias(f"{name}_text") for name in PRICE_COLUMNS),
            (pl.col("fields").list.len() < len(header)).alias("short"),
        )
        derived = (
            parse_time(pl.col("time_text"), zone).alias("bucket"),
            pl.when(pl.col("source_text") == "")
            .then(pl.lit(source))
            .otherwise(pl.col("source_text"))
            .alias("source"),
        )
        for chunk in chunks:
            yield _candles(chunk.with_columns(*fields).with_columns(*derived))


def parquet_candles(path: Path, source: str, zone: str, chunk_rows: int) -> Iterator[Parsed]:
    schema = parquet_schema(path)
    time_column = next((c for c in ("time", "timestamp", "bucket") if c in schema), None)
    if time_column is None or not {"symbol", *PRICE_COLUMNS} <= set(schema):
        raise ImportFileError(
            f"the file needs time, symbol, open, high, low, close; has {list(schema)}"
        )
    fields = (
        parquet_time(schema, time_column, zone).alias("bucket"),
        as_text(time_column).alias("time_text"),
        as_text("symbol").alias("symbol"),
        pl.lit(source).alias("source"),
        *(as_text(name).alias(f"{name}_text") for name in PRICE_COLUMNS),
        as_text("tick_count", "tick_count" in schema).alias("tick_count_text"),
        as_text("volume", "volume" in schema).alias("volume_text"),
        pl.lit(False).alias("short"),
        pl.lit(None, pl.String).alias("malformed"),
    )
    for batch in parquet_batches(path, chunk_rows):
        yield _candles(batch.with_columns(*fields))


def _candles(frame: pl.DataFrame) -> Parsed:
    frame = frame.with_columns(
        *(number(pl.col(f"{name}_text")).alias(name) for name in PRICE_COLUMNS),
        pl.col("tick_count_text").cast(pl.Int64, strict=False).fill_null(0).alias("tick_count"),
        number(pl.col("volume_text")).alias("volume"),
    )
    open_, high, low, close = (pl.col(name) for name in PRICE_COLUMNS)
    frame = frame.with_columns(
        first_reason(
            malformed(),
            (pl.col("short"), pl.lit("too few fields")),
            (pl.col("bucket").is_null(), pl.lit("bad time: '") + pl.col("time_text") + pl.lit("'")),
            (pl.col("symbol") == "", pl.lit("symbol missing")),
            *((pl.col(n).is_null(), not_a_number(n, pl.col(f"{n}_text"))) for n in PRICE_COLUMNS),
            (~positive(*PRICE_COLUMNS), pl.lit("prices must be positive and finite")),
            (
                (low > open_) | (low > close) | (high < open_) | (high < close),
                pl.lit("high/low do not enclose open and close"),
            ),
            (pl.col("tick_count") < 0, pl.lit("tick count is negative")),
            ((pl.col("volume_text") != "") & ~(pl.col("volume") >= 0), pl.lit("bad volume")),
        ).alias("reason")
    )
    return split(frame, CANDLE_COLUMNS)
