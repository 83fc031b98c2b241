"""The history importers through the command line: bad rows by line, all-or-nothing, once only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pytest
from typer.testing import CliRunner

from brokerstack.cli.imports import app
from ingest.importing.load import ImportOptions, OnBadRows, Outcome, import_ticks
from warehouse.candles import read_candles

MT5_HEADER = "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>"
MT5_ROWS = [
    "2024.01.02\t00:00:00.123\t1.10450\t1.10460\t\t\t6",
    "2024.01.02\t00:00:00.500\t1.10451\t\t\t\t2",  # ask unchanged
    "2024.01.02\t00:00:01.000\t\t1.10470\t\t\t4",  # bid unchanged
    "2024.01.02\t00:00:01.200\t\t\t1.1\t1\t8",  # a trade, not a quote
    "2024.13.02\t00:00:02.000\t1.1\t1.2\t\t\t6",  # line 6: no 13th month
    "2024.01.02\t00:00:03.000\tabc\t1.2\t\t\t6",  # line 7: bid not a number
    "",
    "2024.01.02\t00:00:04.000\t1.1046",  # line 9: too few fields
    "2024.01.02\t00:01:10.000\t1.10380\t1.10390\t\t\t6",
]


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BROKERSTACK_DATABASE_URL", db_url)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})

    return invoke


def _mt5_file(folder: Path, utf16: bool = False) -> Path:
    path = folder / "EURUSD_202401020000_202401022359.csv"
    text = "\n".join([MT5_HEADER, *MT5_ROWS]) + "\n"
    path.write_bytes(text.encode("utf-16") if utf16 else text.encode())
    return path


def _ticks(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT time, symbol, source, bid, ask FROM ticks ORDER BY time"
        ).fetchall()


def _imports(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM ingest_imports").fetchone()
    return int(row[0]) if row else -1


def test_a_file_with_bad_rows_is_rejected_with_their_line_numbers(
    run: Any, db_url: str, tmp_path: Path
) -> None:
    result = run("import-ticks", str(_mt5_file(tmp_path)))

    assert result.exit_code == 1
    lines = {int(line.split()[1]) for line in result.output.splitlines() if line.startswith("│")}
    assert lines == {6, 7, 9}
    assert "bad date/time" in result.output
    assert "bid is not a number: 'abc'" in result.output
    assert "nothing loaded" in result.output
    assert "nothing loaded" in result.stderr  # a refusal is an error: on stderr
    assert "nothing loaded" not in result.stdout
    assert _ticks(db_url) == []
    assert _imports(db_url) == 0


def test_skipping_bad_rows_loads_the_rest_once(run: Any, db_url: str, tmp_path: Path) -> None:
    path = _mt5_file(tmp_path, utf16=True)  # MetaTrader writes UTF-16

    first = run("import-ticks", str(path), "--on-bad-rows", "skip")
    second = run("import-ticks", str(path), "--on-bad-rows", "skip")

    assert first.exit_code == 0, first.output
    assert "loaded 4 ticks" in first.output
    assert "3 bad rows skipped" in first.output
    assert "1 rows without a bid/ask change ignored" in first.output
    assert second.exit_code == 0
    assert "already imported" in second.output
    at = datetime(2024, 1, 2, tzinfo=UTC)
    assert _ticks(db_url) == [
        (at.replace(microsecond=123_000), "EURUSD", "history", 1.1045, 1.1046),
        (at.replace(microsecond=500_000), "EURUSD", "history", 1.10451, 1.1046),
        (at.replace(second=1), "EURUSD", "history", 1.10451, 1.1047),
        (at.replace(minute=1, second=10), "EURUSD", "history", 1.1038, 1.1039),
    ]
    assert _imports(db_url) == 1
    with psycopg.connect(db_url) as conn:
        candles = read_candles(conn, "EURUSD", "1m", at, at.replace(minute=2))
    assert [(c.bucket.minute, c.bid_open, c.bid_close, c.tick_count) for c in candles] == [
        (0, 1.1045, 1.10451, 3),
        (1, 1.1038, 1.1038, 1),
    ]


def test_plain_csv_and_parquet_with_offsets_and_a_named_zone(
    run: Any, db_url: str, tmp_path: Path
) -> None:
    csv = tmp_path / "ticks.csv"
    csv.write_text(
        "timestamp,symbol,bid,ask\n"
        "2024-03-01T10:00:00.250Z,GBPUSD,1.2601,1.2603\n"
        "2024-03-01 11:00:01+01:00,GBPUSD,1.2602,1.2604\n"
        "2024-03-01 11:00:02,GBPUSD,1.2603,1.2605\n"  # naive: Europe/Prague (UTC+1)
        "2024-03-01 11:00:03,GBPUSD,-1,1.2605\n"  # line 5
    )
    parquet = tmp_path / "ticks.parquet"
    pl.DataFrame(
        {
            "timestamp": [datetime(2024, 3, 1, 10, 0, 5, tzinfo=UTC)],
            "symbol": ["GBPUSD"],
            "bid": [1.2604],
            "ask": [1.2606],
        }
    ).write_parquet(parquet)

    rejected = run("import-ticks", str(csv), "--timezone", "Europe/Prague")
    loaded = run(
        "import-ticks",
        str(csv),
        str(parquet),
        "--timezone",
        "Europe/Prague",
        "--on-bad-rows",
        "skip",
        "--source",
        "lp-archive",
    )

    assert rejected.exit_code == 1
    assert "│    5 │ bid and ask must be positive" in rejected.output
    assert loaded.exit_code == 0, loaded.output
    ticks = _ticks(db_url)
    assert [(t[0].second, t[0].microsecond, t[2]) for t in ticks] == [
        (0, 250_000, "lp-archive"),
        (1, 0, "lp-archive"),
        (2, 0, "lp-archive"),
        (5, 0, "lp-archive"),
    ]
    assert {t[0].hour for t in ticks} == {10}


def test_candle_history_loads_each_bar_once(run: Any, db_url: str, tmp_path: Path) -> None:
    bars = tmp_path / "XAUUSD_H1.csv"
    bars.write_text(
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.01.02\t00:00:00\t2062.10\t2065.00\t2060.50\t2064.20\t812\t0\t25\n"
        "2024.01.02\t01:00:00\t2064.20\t2066.00\t2063.10\t2063.90\t640\t0\t25\n"
        "2024.01.02\t02:00:00\t2063.90\t2061.00\t2062.00\t2063.00\t10\t0\t25\n"  # high < open
    )
    overlapping = tmp_path / "xau.csv"
    overlapping.write_text(
        "time,symbol,open,high,low,close\n"
        "2024-01-02T01:00:00Z,XAUUSD,1,1,1,1\n"
        "2024-01-02T03:00:00Z,XAUUSD,2063.00,2064.00,2062.00,2063.50\n"
    )

    first = run("import-candles", str(bars), "--timeframe", "1h", "--on-bad-rows", "skip")
    second = run("import-candles", str(overlapping), "--timeframe", "1h")

    assert first.exit_code == 0, first.output
    assert "│    4 │ high/low do not enclose open and close" in first.output
    assert "loaded 2 candles" in first.output
    assert second.exit_code == 0, second.output
    assert "loaded 1 candles" in second.output
    assert "1 already present" in second.output
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT extract(hour FROM bucket)::int, bid_open, tick_count FROM candle_history "
            "WHERE symbol = 'XAUUSD' AND timeframe = '1h' ORDER BY bucket"
        ).fetchall()
    assert rows == [(0, 2062.10, 812), (1, 2064.20, 640), (3, 2063.00, 0)]


def test_a_file_is_loaded_in_chunks_keeping_bad_lines_carry_forward_and_once_only(
    db_url: str, tmp_path: Path
) -> None:
    at = datetime(2024, 1, 2, tzinfo=UTC)
    lines = [MT5_HEADER]
    expected = []  # (time, bid, ask) of every good row, computed here
    bid = ask = 0.0
    for n in range(25_000):  # file lines 2 .. 25,001
        line = n + 2
        stamp = at + timedelta(milliseconds=n)
        text_time = f"{stamp:%Y.%m.%d}\t{stamp:%H:%M:%S}.{stamp.microsecond // 1000:03d}"
        if line in (10_003, 24_990):
            lines.append(f"{text_time}\tnot-a-price\t1.2\t\t\t6")
            continue
        if line == 10_002:  # first row of the second chunk: the ask changes, the bid carries on
            ask = 1.5
            lines.append(f"{text_time}\t\t{ask}\t\t\t4")
        else:
            bid, ask = 1.0 + n / 1e6, 1.1 + n / 1e6
            lines.append(f"{text_time}\t{bid}\t{ask}\t\t\t6")
        expected.append((stamp, bid, ask))
    path = tmp_path / "EURUSD_202401020000_202401020000.csv"
    path.write_text("\n".join(lines) + "\n")
    chunks: list[int] = []

    with psycopg.connect(db_url, autocommit=True) as conn:
        rejected = import_ticks(conn, path, ImportOptions(chunk_rows=10_000), chunks.append)
        assert _ticks(db_url) == []  # the first chunk was COPYed, then rolled back
        assert _imports(db_url) == 0
        options = ImportOptions(chunk_rows=10_000, on_bad_rows=OnBadRows.SKIP)
        loaded = import_ticks(conn, path, options, chunks.append)
        again = import_ticks(conn, path, options, chunks.append)

    assert rejected.outcome is Outcome.REJECTED
    assert rejected.bad is not None
    assert rejected.bad.get_column("line").to_list() == [10_003, 24_990]
    assert loaded.outcome is Outcome.LOADED
    assert (loaded.rows, loaded.bad_rows) == (24_998, 2)
    # the rejected pass stopped loading at its first bad row; the skipping pass loaded all
    assert chunks == [10_000, 10_000, 9_999, 4_999]
    assert again.outcome is Outcome.ALREADY_IMPORTED
    rows = _ticks(db_url)
    assert [(t[0], t[3], t[4]) for t in rows] == expected
    with psycopg.connect(db_url) as conn:
        ledger = conn.execute(
            "SELECT rows_loaded, rows_skipped, first_time, last_time FROM ingest_imports"
        ).fetchall()
    assert ledger == [(24_998, 2, expected[0][0], expected[-1][0])]


def test_a_quoted_csv_file_loads_its_symbols_without_quotes(
    run: Any, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text(
        '"timestamp","symbol","bid","ask"\n'
        '"2024-03-01T10:00:00Z","EURUSD","1.0850","1.0852"\n'
        '"2024-03-01T10:00:01Z","EURUSD","1.0851"\n'  # line 3: no ask
        '"2024-03-01T10:00:02Z","EURUSD","1.0852","1.0854"\n'
        '"2024-03-01T10:00:03Z","EURUSD","1.08"53","1.0855"\n'  # line 5: a stray quote
    )

    result = run("import-ticks", str(path), "--on-bad-rows", "skip")

    assert result.exit_code == 0, result.output
    assert "│    3 │ too few fields" in result.output
    assert "│    5 │ malformed CSV" in result.output
    assert [(t[0].second, t[1], t[3]) for t in _ticks(db_url)] == [
        (0, "EURUSD", 1.085),
        (2, "EURUSD", 1.0852),
    ]
