"""Parse tick and candle history with polars, keeping every bad row's line number and reason.

Text files are split into fields by polars (not by its CSV reader) so that the line number of
each row is the physical line in the file, ragged rows included. Parquet rows are numbered
from 1. A row is either good, bad (with the first reason found), or — MetaTrader only — a
trade-only row without a bid/ask change, which is not a quote and is counted as ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ingest.importing.files import FileFormat, ImportFileError, text_lines

UTC_US = pl.Datetime("us", "UTC")
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y.%m.%d %H:%M:%S%.f")
_MT5_TIME = "%Y.%m.%d %H:%M:%S%.f"
PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Parsed:
    """Good rows ready to load, and the bad ones as (line, reason)."""

    rows: pl.DataFrame
    bad: pl.DataFrame
    ignored: int = 0


def _fields(lines: list[str], separator: str) -> tuple[list[str], pl.DataFrame]:
    """Header names and one row per non-blank line after it: ``line`` and ``fields``."""
    if not lines:
        raise ImportFileError("the file is empty")
    header = [name.strip().strip("<>").lower() for name in lines[0].split(separator)]
    frame = (
        pl.DataFrame({"text": lines[1:]}, schema={"text": pl.String})
        .with_row_index("line", offset=2)
        .filter(pl.col("text").str.strip_chars() != "")
        .with_columns(pl.col("text").str.split(separator).alias("fields"))
    )
    return header, frame


def _column(header: list[str], names: tuple[str, ...], required: bool = True) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    if required:
        raise ImportFileError(f"the header has no {names[0]} column (found: {', '.join(header)})")
    return None


def _text(index: int | None) -> pl.Expr:
    if index is None:
        return pl.lit("", dtype=pl.String)
    return pl.col("fields").list.get(index, null_on_oob=True).str.strip_chars().fill_null("")


def _number(text: pl.Expr) -> pl.Expr:
    return text.cast(pl.Float64, strict=False)


def parse_time(text: pl.Expr, zone: str, formats: tuple[str, ...] = _NAIVE_FORMATS) -> pl.Expr:
    """Text with an offset is taken as is; naive text is local time in ``zone``."""
    aware = [text.str.strptime(UTC_US, fmt, strict=False) for fmt in _AWARE_FORMATS]
    naive = pl.coalesce(
        *[text.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in formats]
    )
    local = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return pl.coalesce(*aware, local.dt.convert_time_zone("UTC"))


def _first_reason(*checks: tuple[pl.Expr, pl.Expr]) -> pl.Expr:
    """The reason of the first failing check, or null when the row is good."""
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for failed, reason in reversed(checks):
        expr = pl.when(failed).then(reason).otherwise(expr)
    return expr


def _quote(name: str, value: pl.Expr) -> pl.Expr:
    return pl.lit(f"{name} is not a number: '") + value + pl.lit("'")


def _split(frame: pl.DataFrame, columns: list[str]) -> Parsed:
    bad = frame.filter(pl.col("reason").is_not_null()).select("line", "reason")
    return Parsed(frame.filter(pl.col("reason").is_null()).select(columns), bad)


def _positive(*columns: str) -> pl.Expr:
    return pl.all_horizontal([(pl.col(c) > 0) & pl.col(c).is_finite() for c in columns])


# --- ticks ----------------------------------------------------------------------------------

TICK_COLUMNS = ["time", "symbol", "source", "bid", "ask"]


def mt5_ticks(path: Path, symbol: str, source: str, zone: str) -> Parsed:
    """MetaTrader 5 tick export; an empty bid or ask means unchanged since the previous row."""
    header, frame = _fields(text_lines(path), "\t")
    date, time = _column(header, ("date",)), _column(header, ("time",))
    bid_i, ask_i = _column(header, ("bid",)), _column(header, ("ask",))
    needed = max(i for i in (date, time, bid_i, ask_i) if i is not None) + 1
    stamp = _text(date) + pl.lit(" ") + _text(time)
    frame = frame.with_columns(
        parse_time(stamp, zone, (_MT5_TIME,)).alias("time"),
        stamp.alias("stamp"),
        _text(bid_i).alias("bid_text"),
        _text(ask_i).alias("ask_text"),
    ).with_columns(
        _number(pl.col("bid_text")).alias("bid"), _number(pl.col("ask_text")).alias("ask")
    )
    frame = frame.with_columns(
        _first_reason(
            (
                pl.col("fields").list.len() < needed,
                pl.lit(f"expected {needed} tab-separated fields, got ")
                + pl.col("fields").list.len().cast(pl.String),
            ),
            (pl.col("time").is_null(), pl.lit("bad date/time: '") + pl.col("stamp") + pl.lit("'")),
            (
                (pl.col("bid_text") != "") & pl.col("bid").is_null(),
                _quote("bid", pl.col("bid_text")),
            ),
            (
                (pl.col("ask_text") != "") & pl.col("ask").is_null(),
                _quote("ask", pl.col("ask_text")),
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
    frame = frame.with_columns(
        pl.when(good).then(pl.col("bid")).forward_fill().alias("bid"),
        pl.when(good).then(pl.col("ask")).forward_fill().alias("ask"),
    ).with_columns(
        pl.when(pl.col("reason").is_not_null())
        .then(pl.col("reason"))
        .when(pl.col("bid").is_null() | pl.col("ask").is_null())
        .then(pl.lit("no bid/ask known yet to carry forward"))
        .when(~_positive("bid", "ask"))
        .then(pl.lit("bid and ask must be positive and finite"))
        .alias("reason"),
        pl.lit(symbol).alias("symbol"),
        pl.lit(source).alias("source"),
    )
    parsed = _split(frame, TICK_COLUMNS)
    return Parsed(parsed.rows, parsed.bad, ignored)


def csv_ticks(path: Path, source: str, zone: str) -> Parsed:
    """``timestamp,symbol,bid,ask`` with a header (``source`` optional)."""
    header, frame = _fields(text_lines(path), ",")
    return _plain_ticks(
        frame.with_columns(
            _text(_column(header, ("timestamp", "time"))).alias("time_text"),
            _text(_column(header, ("symbol",))).alias("symbol"),
            _text(_column(header, ("bid",))).alias("bid_text"),
            _text(_column(header, ("ask",))).alias("ask_text"),
            _text(_column(header, ("source",), required=False)).alias("source_text"),
            (pl.col("fields").list.len() < len(header)).alias("short"),
        ).with_columns(parse_time(pl.col("time_text"), zone).alias("time")),
        source,
    )


def parquet_ticks(path: Path, source: str, zone: str) -> Parsed:
    frame = _parquet(path)
    missing = {"symbol", "bid", "ask"} - set(frame.columns)
    time_column = "timestamp" if "timestamp" in frame.columns else "time"
    if missing or time_column not in frame.columns:
        raise ImportFileError(
            f"the file needs timestamp, symbol, bid and ask columns; has {frame.columns}"
        )
    frame = frame.with_columns(
        _parquet_time(frame, time_column, zone).alias("time"),
        pl.col(time_column).cast(pl.String).fill_null("").alias("time_text"),
        pl.col("symbol").cast(pl.String).fill_null("").alias("symbol"),
        pl.col("bid").cast(pl.String).fill_null("").alias("bid_text"),
        pl.col("ask").cast(pl.String).fill_null("").alias("ask_text"),
        (pl.col("source").cast(pl.String) if "source" in frame.columns else pl.lit(""))
        .fill_null("")
        .alias("source_text"),
        pl.lit(False).alias("short"),
    )
    return _plain_ticks(frame, source)


def _plain_ticks(frame: pl.DataFrame, source: str) -> Parsed:
    frame = frame.with_columns(
        _number(pl.col("bid_text")).alias("bid"),
        _number(pl.col("ask_text")).alias("ask"),
        pl.when(pl.col("source_text") == "")
        .then(pl.lit(source))
        .otherwise(pl.col("source_text"))
        .alias("source"),
    )
    frame = frame.with_columns(
        _first_reason(
            (pl.col("short"), pl.lit("too few fields")),
            (
                pl.col("time").is_null(),
                pl.lit("bad timestamp: '") + pl.col("time_text") + pl.lit("'"),
            ),
            (pl.col("symbol") == "", pl.lit("symbol missing")),
            (pl.col("bid").is_null(), _quote("bid", pl.col("bid_text"))),
            (pl.col("ask").is_null(), _quote("ask", pl.col("ask_text"))),
            (~_positive("bid", "ask"), pl.lit("bid and ask must be positive and finite")),
        ).alias("reason")
    )
    return _split(frame, TICK_COLUMNS)


# --- candles --------------------------------------------------------------------------------

CANDLE_COLUMNS = [
    "bucket",
    "symbol",
    "source",
    "open",
    "high",
    "low",
    "close",
    "tick_count",
    "volume",
]


def mt5_candles(path: Path, symbol: str, source: str, zone: str) -> Parsed:
    """MetaTrader 5 bars: <DATE> [<TIME>] <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>."""
    header, frame = _fields(text_lines(path), "\t")
    time_i = _column(header, ("time",), required=False)
    stamp = (
        _text(_column(header, ("date",)))
        + pl.lit(" ")
        + (_text(time_i) if time_i is not None else pl.lit("00:00:00"))
    )
    frame = frame.with_columns(
        stamp.alias("time_text"),
        parse_time(stamp, zone, (_MT5_TIME,)).alias("bucket"),
        pl.lit(symbol).alias("symbol"),
        pl.lit(source).alias("source"),
        _text(_column(header, ("tickvol",), required=False)).alias("tick_count_text"),
        _text(_column(header, ("vol", "volume"), required=False)).alias("volume_text"),
        *(_text(_column(header, (name,))).alias(f"{name}_text") for name in PRICE_COLUMNS),
        (pl.col("fields").list.len() < len(header)).alias("short"),
    )
    return _candles(frame)


def csv_candles(path: Path, source: str, zone: str) -> Parsed:
    """``time,symbol,open,high,low,close[,tick_count][,volume]`` with a header."""
    header, frame = _fields(text_lines(path), ",")
    frame = frame.with_columns(
        _text(_column(header, ("time", "timestamp", "bucket"))).alias("time_text"),
        _text(_column(header, ("symbol",))).alias("symbol"),
        _text(_column(header, ("source",), required=False)).alias("source_text"),
        _text(_column(header, ("tick_count", "tickvol"), required=False)).alias("tick_count_text"),
        _text(_column(header, ("volume", "vol"), required=False)).alias("volume_text"),
        *(_text(_column(header, (name,))).alias(f"{name}_text") for name in PRICE_COLUMNS),
        (pl.col("fields").list.len() < len(header)).alias("short"),
    ).with_columns(
        parse_time(pl.col("time_text"), zone).alias("bucket"),
        pl.when(pl.col("source_text") == "")
        .then(pl.lit(source))
        .otherwise(pl.col("source_text"))
        .alias("source"),
    )
    return _candles(frame)


def parquet_candles(path: Path, source: str, zone: str) -> Parsed:
    frame = _parquet(path)
    time_column = next((c for c in ("time", "timestamp", "bucket") if c in frame.columns), None)
    if time_column is None or not {"symbol", *PRICE_COLUMNS} <= set(frame.columns):
        raise ImportFileError(
            f"the file needs time, symbol, open, high, low, close; has {frame.columns}"
        )
    optional = {"tick_count": "tick_count_text", "volume": "volume_text"}
    frame = frame.with_columns(
        _parquet_time(frame, time_column, zone).alias("bucket"),
        pl.col(time_column).cast(pl.String).fill_null("").alias("time_text"),
        pl.col("symbol").cast(pl.String).fill_null("").alias("symbol"),
        pl.lit(source).alias("source"),
        *(
            pl.col(name).cast(pl.String).fill_null("").alias(f"{name}_text")
            for name in PRICE_COLUMNS
        ),
        *(
            (
                pl.col(name).cast(pl.String).fill_null("") if name in frame.columns else pl.lit("")
            ).alias(text)
            for name, text in optional.items()
        ),
        pl.lit(False).alias("short"),
    )
    return _candles(frame)


def _candles(frame: pl.DataFrame) -> Parsed:
    frame = frame.with_columns(
        *(_number(pl.col(f"{name}_text")).alias(name) for name in PRICE_COLUMNS),
        pl.col("tick_count_text").cast(pl.Int64, strict=False).fill_null(0).alias("tick_count"),
        _number(pl.col("volume_text")).alias("volume"),
    )
    open_, high, low, close = (pl.col(name) for name in PRICE_COLUMNS)
    frame = frame.with_columns(
        _first_reason(
            (pl.col("short"), pl.lit("too few fields")),
            (pl.col("bucket").is_null(), pl.lit("bad time: '") + pl.col("time_text") + pl.lit("'")),
            (pl.col("symbol") == "", pl.lit("symbol missing")),
            *((pl.col(n).is_null(), _quote(n, pl.col(f"{n}_text"))) for n in PRICE_COLUMNS),
            (~_positive(*PRICE_COLUMNS), pl.lit("prices must be positive and finite")),
            (
                (low > open_) | (low > close) | (high < open_) | (high < close),
                pl.lit("high/low do not enclose open and close"),
            ),
            (pl.col("tick_count") < 0, pl.lit("tick count is negative")),
            ((pl.col("volume_text") != "") & ~(pl.col("volume") >= 0), pl.lit("bad volume")),
        ).alias("reason")
    )
    return _split(frame, CANDLE_COLUMNS)


# --- shared ---------------------------------------------------------------------------------


def _parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ImportFileError(f"{path.name}: not a readable Parquet file ({exc})") from exc
    return frame.with_row_index("line", offset=1)


def _parquet_time(frame: pl.DataFrame, column: str, zone: str) -> pl.Expr:
    """Datetime columns as stored (naive ones are local time in ``zone``); text is parsed."""
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime):
        value = pl.col(column).cast(pl.Datetime("us", dtype.time_zone))
        if dtype.time_zone is None:
            value = value.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        return value.dt.convert_time_zone("UTC")
    return parse_time(pl.col(column).cast(pl.String), zone)


def parse_ticks(path: Path, fmt: FileFormat, symbol: str | None, source: str, zone: str) -> Parsed:
    if fmt is FileFormat.MT5:
        if not symbol:
            raise ImportFileError("MetaTrader tick files carry no symbol: pass --symbol")
        return mt5_ticks(path, symbol, source, zone)
    if fmt is FileFormat.PARQUET:
        return parquet_ticks(path, source, zone)
    return csv_ticks(path, source, zone)


def parse_candles(
    path: Path, fmt: FileFormat, symbol: str | None, source: str, zone: str
) -> Parsed:
    if fmt is FileFormat.MT5:
        if not symbol:
            raise ImportFileError("MetaTrader bar files carry no symbol: pass --symbol")
        return mt5_candles(path, symbol, source, zone)
    if fmt is FileFormat.PARQUET:
        return parquet_candles(path, source, zone)
    return csv_candles(path, source, zone)
