"""Tick history files, parsed a chunk at a time: MetaTrader 5 exports, CSV and Parquet."""

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

TICK_COLUMNS = ["time", "symbol", "source", "bid", "ask"]


def parse_ticks(
    path: Path, fmt: FileFormat, symbol: str | None, source: str, zone: str, chunk_rows: int
) -> Iterator[Parsed]:
    if fmt is FileFormat.MT5:
        if not symbol:
            raise ImportFileError("MetaTrader tick files carry no symbol: pass --symbol")
        return mt5_ticks(path, symbol, source, zone, chunk_rows)
    if fmt is FileFormat.PARQUET:
        return parquet_ticks(path, source, zone, chunk_rows)
    return csv_ticks(path, source, zone, chunk_rows)


def mt5_ticks(path: Path, symbol: str, source: str, zone: str, chunk_rows: int) -> Iterator[Parsed]:
    """MetaTrader 5 tick export; an empty bid or ask means unchanged since the previous row
    (carried across chunks)."""
    with text_rows(path, chunk_rows, "\t") as (first, chunks):
        header = header_names(first)
        date, time = column(header, ("date",)), column(header, ("time",))
        bid_i, ask_i = column(header, ("bid",)), column(header, ("ask",))
        needed = max(i for i in (date, time, bid_i, ask_i) if i is not None) + 1
        stamp = field_text(date) + pl.lit(" ") + field_text(time)
        fields = (
            parse_time(stamp, zone, (MT5_TIME,)).alias("time"),
            stamp.alias("stamp"),
            field_text(bid_i).alias("bid_text"),
            field_text(ask_i).alias("ask_text"),
        )
        carried: tuple[float | None, float | None] = (None, None)
        for chunk in chunks:
            frame = chunk.with_columns(*fields)
            parsed, carried = _mt5_chunk(frame, needed, symbol, source, carried)
            yield parsed


def _mt5_chunk(
    frame: pl.DataFrame,
    needed: int,
    symbol: str,
    source: str,
    carried: tuple[float | None, float | None],
) -> tuple[Parsed, tuple[float | None, float | None]]:
    frame = frame.with_columns(
        number(pl.col("bid_text")).alias("bid"), number(pl.col("ask_text")).alias("ask")
    )
    frame = frame.with_columns(
        first_reason(
            malformed(),
            (
                pl.col("fields").list.len() < needed,
                pl.lit(f"expected {needed} tab-separated fields, got ")
                + pl.col("fields").list.len().cast(pl.String),
            ),
            (pl.col("time").is_null(), pl.lit("bad date/time: '") + pl.col("stamp") + pl.lit("'")),
            (
                (pl.col("bid_text") != "") & pl.col("bid").is_null(),
                not_a_number("bid", pl.col("bid_text")),
            ),
            (
                (pl.col("ask_text") != "") & pl.col("ask").is_null(),
                not_a_number("ask", pl.col("ask_text")),
            ),
        ).alias("reason")
    )
    trade_only = (
        (pl.col("bid_text") == "") & (pl.col("ask_text") == "") & pl.col("reason").is_null()
    )
    ignored = frame.filter(trade_only).height
    frame = frame.filter(~trade_only)
    # Carry the last known bid and ask forward over good rows, in file order.
    good = pl.col("reason").is_null()
    last_bid, last_ask = carried
    frame = frame.with_columns(
        pl.when(good)
        .then(pl.col("bid"))
        .forward_fill()
        .fill_null(pl.lit(last_bid, pl.Float64))
        .alias("bid"),
        pl.when(good)
        .then(pl.col("ask"))
        .forward_fill()
        .fill_null(pl.lit(last_ask, pl.Float64))
        .alias("ask"),
    ).with_columns(
        pl.when(pl.col("reason").is_not_null())
        .then(pl.col("reason"))
        .when(pl.col("bid").is_null() | pl.col("ask").is_null())
        .then(pl.lit("no bid/ask known yet to carry forward"))
        .when(~positive("bid", "ask"))
        .then(pl.lit("bid and ask must be positive and finite"))
        .alias("reason"),
        pl.lit(symbol).alias("symbol"),
        pl.lit(source).alias("source"),
    )
    if frame.height:  # the filled columns' last values are what the next chunk carries on
        carried = (frame.get_column("bid")[-1], frame.get_column("ask")[-1])
    return split(frame, TICK_COLUMNS, ignored), carried


def csv_ticks(path: Path, source: str, zone: str, chunk_rows: int) -> Iterator[Parsed]:
    """``timestamp,symbol,bid,ask`` with a header (``source`` optional)."""
    with text_rows(path, chunk_rows, ",") as (first, chunks):
        header = header_names(first)
        fields = (
            field_text(column(header, ("timestamp", "time"))).alias("time_text"),
            field_text(column(header, ("symbol",))).alias("symbol"),
            field_text(column(header, ("bid",))).alias("bid_text"),
            field_text(column(header, ("ask",))).alias("ask_text"),
            field_text(column(header, ("source",), required=False)).alias("source_text"),
            (pl.col("fields").list.len() < len(header)).alias("short"),
        )
        for chunk in chunks:
            frame = chunk.with_columns(*fields)
            yield _plain_ticks(
                frame.with_columns(parse_time(pl.col("time_text"), zone).alias("time")), source
            )


def parquet_ticks(path: Path, source: str, zone: str, chunk_rows: int) -> Iterator[Parsed]:
    schema = parquet_schema(path)
    missing = {"symbol", "bid", "ask"} - set(schema)
    time_column = "timestamp" if "timestamp" in schema else "time"
    if missing or time_column not in schema:
        raise ImportFileError(
            f"the file needs timestamp, symbol, bid and ask columns; has {list(schema)}"
        )
    fields = (
        parquet_time(schema, time_column, zone).alias("time"),
        as_text(time_column).alias("time_text"),
        as_text("symbol").alias("symbol"),
        as_text("bid").alias("bid_text"),
        as_text("ask").alias("ask_text"),
        as_text("source", "source" in schema).alias("source_text"),
        pl.lit(False).alias("short"),
        pl.lit(None, pl.String).alias("malformed"),
    )
    for batch in parquet_batches(path, chunk_rows):
        yield _plain_ticks(batch.with_columns(*fields), source)


def _plain_ticks(frame: pl.DataFrame, source: str) -> Parsed:
    frame = frame.with_columns(
        number(pl.col("bid_text")).alias("bid"),
        number(pl.col("ask_text")).alias("ask"),
        pl.when(pl.col("source_text") == "")
        .then(pl.lit(source))
        .otherwise(pl.col("source_text"))
        .alias("source"),
    )
    frame = frame.with_columns(
        first_reason(
            malformed(),
            (pl.col("short"), pl.lit("too few fields")),
            (
                pl.col("time").is_null(),
                pl.lit("bad timestamp: '") + pl.col("time_text") + pl.lit("'"),
            ),
            (pl.col("symbol") == "", pl.lit("symbol missing")),
            (pl.col("bid").is_null(), not_a_number("bid", pl.col("bid_text"))),
            (pl.col("ask").is_null(), not_a_number("ask", pl.col("ask_text"))),
            (~positive("bid", "ask"), pl.lit("bid and ask must be positive and finite")),
        ).alias("reason")
    )
    return split(frame, TICK_COLUMNS)
