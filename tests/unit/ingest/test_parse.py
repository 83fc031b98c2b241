"""Parsing history files with polars: line numbers, reasons, carry-forward, zones, encodings;
the same answers whatever the chunk size, and a file read as its chunks are taken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ingest.importing.candle_files import csv_candles, mt5_candles
from ingest.importing.files import FileFormat, ImportFileError, detect_format, symbol_from_name
from ingest.importing.parse import Parsed
from ingest.importing.tick_files import csv_ticks, mt5_ticks

MT5 = "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>\n"
CHUNKS = pytest.mark.parametrize("chunk_rows", [1, 2, 100_000])


def _whole(chunks: Iterator[Parsed]) -> Parsed:
    """The chunks of a file as one (what loading them one after another amounts to)."""
    parts = list(chunks)
    return Parsed(
        pl.concat([p.rows for p in parts]),
        pl.concat([p.bad for p in parts]),
        sum(p.ignored for p in parts),
    )


def _file(
    tmp_path: Path, text: str, name: str = "EURUSD_2024.csv", encoding: str = "utf-8"
) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@CHUNKS
def test_mt5_carries_an_unchanged_bid_or_ask_forward(tmp_path: Path, chunk_rows: int) -> None:
    path = _file(
        tmp_path,
        MT5
        + "2024.01.02\t23:59:59.900\t\t1.2\t\t\t4\n"  # line 2: nothing to carry yet
        + "2024.01.02\t23:59:59.950\t1.1\t1.2\t\t\t6\n"
        + "2024.01.03\t00:00:00\t1.3\t\t\t\t2\n",
    )
    parsed = _whole(mt5_ticks(path, "EURUSD", "history", "UTC", chunk_rows))

    assert parsed.rows.select("bid", "ask").rows() == [(1.1, 1.2), (1.3, 1.2)]
    assert parsed.bad.rows() == [(2, "no bid/ask known yet to carry forward")]
    assert parsed.rows.get_column("time").to_list()[1] == datetime(2024, 1, 3, tzinfo=UTC)


def test_mt5_utf16_with_server_time_zone(tmp_path: Path) -> None:
    path = _file(tmp_path, MT5 + "2024.07.01\t03:00:00.001\t1.1\t1.2\t\t\t6\n", encoding="utf-16")
    parsed = _whole(mt5_ticks(path, "EURUSD", "mt5", "Europe/Athens", 2))  # UTC+3 in summer

    assert parsed.rows.get_column("time").to_list() == [
        datetime(2024, 7, 1, 0, 0, 0, 1000, tzinfo=UTC)
    ]
    assert detect_format(path, FileFormat.AUTO) is FileFormat.MT5


@CHUNKS
def test_plain_ticks_report_each_bad_row_by_its_physical_line(
    tmp_path: Path, chunk_rows: int
) -> None:
    path = _file(
        tmp_path,
        "timestamp,symbol,bid,ask\n"
        "2024-01-02T00:00:00Z,EURUSD,1.1,1.2\n"
        "\n"  # blank lines keep their numbers
        "yesterday,EURUSD,1.1,1.2\n"
        "2024-01-02T00:00:01Z,,1.1,1.2\n"
        "2024-01-02T00:00:02Z,EURUSD,1.1\n"
        "2024-01-02T00:00:03Z,EURUSD,inf,1.2\n",
        name="ticks.csv",
    )
    parsed = _whole(csv_ticks(path, "history", "UTC", chunk_rows))

    assert parsed.rows.height == 1
    assert parsed.bad.rows() == [
        (4, "bad timestamp: 'yesterday'"),
        (5, "symbol missing"),
        (6, "too few fields"),
        (7, "bid and ask must be positive and finite"),
    ]
    assert detect_format(path, FileFormat.AUTO) is FileFormat.CSV


def test_candles_must_have_high_and_low_around_open_and_close(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "time,symbol,open,high,low,close,volume\n"
        "2024-01-02T00:00:00Z,EURUSD,1.10,1.12,1.09,1.11,100\n"
        "2024-01-02T00:01:00Z,EURUSD,1.10,1.10,1.11,1.10,100\n"
        "2024-01-02T00:02:00Z,EURUSD,1.10,1.12,1.09,x,100\n"
        "2024-01-02T00:03:00Z,EURUSD,1.10,1.12,1.09,1.11,-5\n",
        name="bars.csv",
    )
    parsed = _whole(csv_candles(path, "history", "UTC", 2))

    assert parsed.rows.height == 1
    assert parsed.bad.rows() == [
        (3, "high/low do not enclose open and close"),
        (4, "close is not a number: 'x'"),
        (5, "bad volume"),
    ]


def test_mt5_daily_bars_have_no_time_column(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.01.02\t1.1\t1.2\t1.0\t1.15\t5000\t0\t10\n",
        name="EURUSD_Daily.csv",
    )
    parsed = _whole(mt5_candles(path, "EURUSD", "history", "UTC", 2))

    assert parsed.rows.select("bucket", "close", "tick_count").rows() == [
        (datetime(2024, 1, 2, tzinfo=UTC), 1.15, 5000)
    ]


def test_a_missing_required_column_fails_the_whole_file(tmp_path: Path) -> None:
    path = _file(tmp_path, "timestamp,symbol,bid\n2024-01-02T00:00:00Z,EURUSD,1.1\n", name="t.csv")
    with pytest.raises(ImportFileError, match="no ask column"):
        next(csv_ticks(path, "history", "UTC", 2))


def test_an_empty_or_undecodable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="empty"):
        next(csv_ticks(_file(tmp_path, "", name="empty.csv"), "history", "UTC", 2))
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"timestamp,symbol,bid,ask\n\xc3\x28,EURUSD,1,1\n")
    with pytest.raises(ImportFileError, match="not utf-8 text"):
        next(csv_ticks(broken, "history", "UTC", 2))


def test_a_file_is_read_as_its_chunks_are_taken(tmp_path: Path) -> None:
    # 2,500 good rows, then a line that is not UTF-8: a parser that read the whole file
    # first would fail before giving any rows
    good = "".join(f"2024-01-02T00:00:{i % 60:02d}Z,EURUSD,1.1,1.2\n" for i in range(2_500))
    path = tmp_path / "ticks.csv"
    path.write_bytes(b"timestamp,symbol,bid,ask\n" + good.encode() + b"\xc3\x28,EURUSD,1,1\n")
    chunks = csv_ticks(path, "history", "UTC", 1_000)

    assert [next(chunks).rows.height for _ in range(2)] == [1_000, 1_000]
    with pytest.raises(ImportFileError, match="not utf-8 text"):
        next(chunks)  # the third chunk holds the bad line


def test_mt5_carry_forward_crosses_chunk_boundaries_with_the_last_filled_value(
    tmp_path: Path,
) -> None:
    path = _file(
        tmp_path,
        MT5
        + "2024.01.02\t00:00:00\t1.1\t1.2\t\t\t6\n"  # line 2
        + "2024.01.02\t00:00:01\t-1\t\t\t\t2\n"  # line 3: a bid, but not a usable one
        + "2024.01.02\t00:00:02\t\t1.3\t\t\t4\n"  # line 4: carries the -1 on, bad too
        + "2024.01.02\t00:00:03\t1.4\t\t\t\t2\n",  # line 5: carries the ask 1.3
    )
    one = _whole(mt5_ticks(path, "EURUSD", "history", "UTC", 100))
    per_row = _whole(mt5_ticks(path, "EURUSD", "history", "UTC", 1))

    assert one.rows.select("bid", "ask").rows() == [(1.1, 1.2), (1.4, 1.3)]
    assert one.bad.rows() == [
        (3, "bid and ask must be positive and finite"),
        (4, "bid and ask must be positive and finite"),
    ]
    assert per_row.rows.rows() == one.rows.rows()
    assert per_row.bad.rows() == one.bad.rows()


def test_symbol_comes_from_a_metatrader_file_name() -> None:
    assert symbol_from_name(Path("EURUSD_202401020000_202401022359.csv")) == "EURUSD"
    assert symbol_from_name(Path("US500.cash_2024.csv")) is None


@CHUNKS
def test_quoted_csv_fields_are_read_without_their_quotes(tmp_path: Path, chunk_rows: int) -> None:
    path = _file(
        tmp_path,
        '"timestamp","symbol","bid","ask"\n'
        '"2024-01-02T00:00:00Z","EURUSD","1.1","1.2"\n'
        '"2024-01-02T00:00:01Z","EUR,USD","1.1","1.2"\n'  # line 3: the comma is the symbol's
        '"2024-01-02T00:00:02Z","EURUSD","1.1"\n',  # line 4: one field short
        name="quoted.csv",
    )
    parsed = _whole(csv_ticks(path, "history", "UTC", chunk_rows))

    assert parsed.rows.select("symbol", "bid", "ask").rows() == [
        ("EURUSD", 1.1, 1.2),
        ("EUR,USD", 1.1, 1.2),
    ]
    assert parsed.bad.rows() == [(4, "too few fields")]


@CHUNKS
def test_a_quoted_field_over_two_lines_is_one_row_numbered_by_its_first_line(
    tmp_path: Path, chunk_rows: int
) -> None:
    path = _file(
        tmp_path,
        "time,symbol,open,high,low,close\n"
        '2024-01-02T00:00:00Z,"EUR\nUSD",1.1,1.2,1.0,1.1\n'  # lines 2-3: one row
        "2024-01-02T00:01:00Z,EURUSD,1.1,1.2,1.0,x\n"  # line 4
        '2024-01-02T00:02:00Z,EURUSD,"1.1"x,1.2,1.0,1.1\n'  # line 5: text after a quote
        "2024-01-02T00:03:00Z,EURUSD,1.1,1.2,1.0,1.1\n",
        name="bars.csv",
    )
    parsed = _whole(csv_candles(path, "history", "UTC", chunk_rows))

    assert parsed.rows.get_column("symbol").to_list() == ["EUR\nUSD", "EURUSD"]
    assert parsed.bad.rows() == [
        (4, "close is not a number: 'x'"),
        (5, "malformed CSV: ',' expected after '\"'"),
    ]
