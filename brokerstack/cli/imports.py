"""``brokerstack import-ticks``, ``import-candles`` and ``ingest-maintenance``.

``app`` is a Typer app whose commands join the ``brokerstack`` command line when mounted
without a name. What was loaded goes to stdout; a file refused, its bad rows and any other
failure go to stderr, and the command exits 1.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brokerstack.cli.console import console, errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings
from ingest.importing.files import FileFormat, ImportFileError
from ingest.importing.load import (
    ImportOptions,
    ImportResult,
    OnBadRows,
    Outcome,
    import_candles,
    import_ticks,
)
from ingest.maintenance import DEFAULT_MONTHS_AHEAD, maintain
from warehouse.db import connect

app = typer.Typer(no_args_is_help=True)
MAX_BAD_ROWS_SHOWN = 20

Files = Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)]
Format = Annotated[FileFormat, typer.Option("--format", help="file format (auto: by name/header)")]
Symbol = Annotated[
    str | None, typer.Option(help="symbol of MetaTrader files (default: from the file name)")
]
Source = Annotated[str, typer.Option(help="source recorded for the rows")]
Zone = Annotated[str, typer.Option("--timezone", help="zone of times without an offset")]
BadRows = Annotated[
    OnBadRows, typer.Option("--on-bad-rows", help="reject the file, or skip the bad rows")
]


@app.command("import-ticks")
def import_ticks_command(
    files: Files,
    file_format: Format = FileFormat.AUTO,
    symbol: Symbol = None,
    source: Source = "history",
    timezone: Zone = "UTC",
    on_bad_rows: BadRows = OnBadRows.REJECT,
) -> None:
    """Load tick history (MetaTrader 5 export, timestamp,symbol,bid,ask CSV, Parquet)."""
    options = ImportOptions(file_format, symbol, source, _zone(timezone), on_bad_rows)
    _run_imports(files, options, "ticks")


@app.command("import-candles")
def import_candles_command(
    files: Files,
    timeframe: Annotated[
        str, typer.Option(help="bar length: 1m, 5m, 15m, 30m, 1h, 4h or 1d")
    ] = "1m",
    file_format: Format = FileFormat.AUTO,
    symbol: Symbol = None,
    source: Source = "history",
    timezone: Zone = "UTC",
    on_bad_rows: BadRows = OnBadRows.REJECT,
) -> None:
    """Load bar history (MetaTrader 5 bars export, time,symbol,open,high,low,close CSV, Parquet)."""
    if timeframe not in ("1m", "5m", "15m", "30m", "1h", "4h", "1d"):
        raise typer.BadParameter(f"unknown timeframe {timeframe!r}", param_hint="--timeframe")
    options = ImportOptions(
        file_format, symbol, source, _zone(timezone), on_bad_rows, timeframe=timeframe
    )
    _run_imports(files, options, "candles")


@app.command("ingest-maintenance")
def maintenance_command(
    retention_days: Annotated[int, typer.Option(min=1, help="drop tick months older")] = 5 * 365,
    months_ahead: Annotated[int, typer.Option(min=1)] = DEFAULT_MONTHS_AHEAD,
) -> None:
    """Create tick partitions ahead and drop expired ones (plain PostgreSQL)."""
    try:
        with database(load_settings()) as url, connect(url, autocommit=True) as conn:
            report = maintain(
                conn, retention=timedelta(days=retention_days), months_ahead=months_ahead
            )
    except (BrokerstackError, psycopg.Error) as exc:
        _fail(exc)
    if report.storage_path == "timescale":
        console.print("TimescaleDB: chunks, compression and retention run as policies")
    else:
        console.print(
            f"tick partitions: {report.partitions_created} created, "
            f"{report.partitions_dropped} dropped"
        )


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {name!r}", param_hint="--timezone") from None
    return name


def _run_imports(files: list[Path], options: ImportOptions, kind: str) -> None:
    failed = False
    try:
        with database(load_settings()) as url, connect(url, autocommit=True) as conn:
            for path in files:
                result = _import_one(conn, path, options, kind)
                failed |= result is None or result.outcome is Outcome.REJECTED
    except (BrokerstackError, psycopg.Error) as exc:
        _fail(exc)
    if failed:
        raise typer.Exit(1)


def _import_one(
    conn: psycopg.Connection[Any], path: Path, options: ImportOptions, kind: str
) -> ImportResult | None:
    loader = import_ticks if kind == "ticks" else import_candles
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{path.name}: loading {kind}", total=None)
        try:
            result = loader(conn, path, options, lambda n: progress.advance(task, n))
        except ImportFileError as exc:
            errors.print(f"[red]{path.name}: {exc} — nothing loaded", soft_wrap=True)
            return None
    _report(result, kind)
    return result


def _report(result: ImportResult, kind: str) -> None:
    name = result.path.name
    if result.outcome is Outcome.ALREADY_IMPORTED:
        console.print(f"{name}: already imported — nothing loaded")
        return
    rejected = result.outcome is Outcome.REJECTED
    if result.bad is not None:
        _bad_rows_table(result, errors if rejected else console)
    if rejected:
        errors.print(
            f"[red]{name}: rejected, {result.bad_rows} bad rows — nothing loaded "
            "(--on-bad-rows skip loads the good rows)",
            soft_wrap=True,
        )
        return
    notes = []
    if result.bad_rows:
        notes.append(f"{result.bad_rows} bad rows skipped")
    if result.duplicates:
        notes.append(f"{result.duplicates} already present")
    if result.ignored:
        notes.append(f"{result.ignored} rows without a bid/ask change ignored")
    suffix = f" ({', '.join(notes)})" if notes else ""
    console.print(f"{name}: loaded {result.rows:,} {kind} [{result.format}]{suffix}")


def _bad_rows_table(result: ImportResult, out: Console) -> None:
    assert result.bad is not None
    table = Table(title=f"{result.path.name}: bad rows", title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("reason")
    for line, reason in result.bad.head(MAX_BAD_ROWS_SHOWN).iter_rows():
        table.add_row(str(line), str(reason))
    out.print(table)
    if result.bad_rows > MAX_BAD_ROWS_SHOWN:
        out.print(f"... and {result.bad_rows - MAX_BAD_ROWS_SHOWN} more")


def _fail(exc: BaseException) -> NoReturn:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    errors.print(f"[bold red]error:[/] {reason}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)
