"""Pipeline commands for operators who don't open the Dagster UI: ``report daily|monthly``,
``export emir|mifir`` and ``snapshot``.

Each materializes the same assets the schedules do, on the same Dagster instance (so the UI
shows the runs and their checks), one asset at a time behind a progress bar; it prints the
files written and exits 1 when an asset fails or a check does not pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from brokerstack.cli.console import console, operator_errors
from brokerstack.dagster_instance import dagster_env, ensure_dagster_database
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import Settings, load_settings

report = typer.Typer(help="Account reports and P&L.", no_args_is_help=True)
export = typer.Typer(help="Regulatory exports.", no_args_is_help=True)

DAILY_REPORT = ("daily_account_report", "daily_report_files", "daily_pnl", "net_exposure")
EXPORTS = {"emir": ("emir_reports",), "mifir": ("mifir_reports",)}
SNAPSHOT = ("analyst_snapshot",)
# Metadata entries that name the files or folders an asset wrote.
_FILE_KEYS = ("file", "paths", "daily", "trade_accounts", "current", "database", "archive")
# Dagster's console log of each step, for the UI: an operator's terminal gets warnings only
# (every event still goes to the instance).
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class PipelineFailed(BrokerstackError):
    pass


def _trade_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BrokerstackError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def _days(day: str | None, start: str | None, end: str | None) -> list[date]:
    """One trade date, or every weekday of a range (a backfill)."""
    if day is not None and (start or end):
        raise BrokerstackError("give --day, or --from with --to, not both")
    if day is not None:
        return [_trade_date(day, "--day")]
    if not (start and end):
        raise BrokerstackError("give --day, or --from and --to")
    first, last = _trade_date(start, "--from"), _trade_date(end, "--to")
    if last < first:
        raise BrokerstackError(f"--to {last} is before --from {first}")
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5]


def _files(metadata: dict[str, Any]) -> Iterator[str]:
    for key in _FILE_KEYS:
        value = metadata.get(key)
        if value is None:
            continue
        raw = getattr(value, "value", value)
        for item in raw if isinstance(raw, list | tuple) else [raw]:
            if isinstance(item, str) and os.sep in item:
                yield item


def materialize(
    settings: Settings, names: Sequence[str], partition_keys: Sequence[str | None]
) -> list[str]:
    """Materialize the named assets (with their checks) for each partition, one run per
    partition on the stack's Dagster instance; the files written. Stops at the first
    failure."""
    with database(settings) as url:
        ensure_dagster_database(url)
        os.environ.update(dagster_env(settings, url))
        os.environ["BROKERSTACK_DATABASE_URL"] = url
        # imported here: Dagster and the pipelines take seconds to load, which no other
        # command should pay
        import dagster as dg

        from pipelines.assets import ALL_ASSETS, ALL_CHECKS
        from pipelines.definitions import resources

        known = {a.key.to_user_string() for a in ALL_ASSETS}
        missing = [n for n in names if n not in known]
        if missing:
            raise BrokerstackError(f"no such asset: {', '.join(missing)}")
        instance = dg.DagsterInstance.get()
        written: list[str] = []
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task("materializing", total=len(partition_keys))
            for key in partition_keys:
                progress.update(task, description=f"{', '.join(names)} {key or ''}".strip())
                result = dg.materialize(
                    [*ALL_ASSETS, *ALL_CHECKS],
                    selection=dg.AssetSelection.assets(*names),
                    partition_key=key,
                    resources=resources(settings.model_copy(update={"database_url": url})),
                    instance=instance,
                    raise_on_error=False,
                    run_config=_QUIET,
                )
                _raise_on_failure(result, key)
                for event in result.get_asset_materialization_events():
                    written.extend(_files(dict(event.materialization.metadata)))
                progress.advance(task)
    return written


def _raise_on_failure(result: Any, key: str | None) -> None:
    where = f"partition {key}" if key else "the run"
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    if failed:
        details = "; ".join(
            f"{c.check_name} ({', '.join(f'{k}={v.value}' for k, v in c.metadata.items())})"
            for c in failed
        )
        raise PipelineFailed(f"{where}: check failed: {details}")
    if not result.success:
        failure = next((e for e in result.all_events if e.is_failure), None)
        message = getattr(getattr(failure, "event_specific_data", None), "error", None)
        text = getattr(message, "message", None) or "the run failed (see the Dagster UI)"
        raise PipelineFailed(f"{where}: {text.strip().splitlines()[-1]}")


def _keys(days: Sequence[date]) -> list[str | None]:
    """The partition of each trade date; refused before anything runs when a date is a weekend
    or its day has not ended yet (its cut is still to come)."""
    from pipelines.partitions import key_for, trading_day, trading_days

    keys: list[str | None] = []
    existing = set(trading_days.get_partition_keys())
    for day in days:
        try:
            key = key_for(day)
        except ValueError as exc:
            raise BrokerstackError(str(exc)) from None
        if key not in existing:
            cut = trading_day(key).cut
            raise BrokerstackError(
                f"trade date {day} has not ended: its day closes at the 17:00 New York cut "
                f"({cut:%Y-%m-%d %H:%M} UTC)"
                if cut > datetime.now(UTC)
                else f"trade date {day} is before the pipelines' first day"
            )
        keys.append(key)
    return keys


def _print(files: Sequence[str]) -> None:
    for path in dict.fromkeys(files):
        console.print(path, highlight=False, soft_wrap=True)


DayOption = Annotated[str | None, typer.Option("--day", help="the trade date, YYYY-MM-DD")]
FromOption = Annotated[str | None, typer.Option("--from", help="backfill from this trade date")]
ToOption = Annotated[str | None, typer.Option("--to", help="backfill to this trade date")]


@report.command("daily")
@operator_errors
def report_daily(day: DayOption = None, start: FromOption = None, end: ToOption = None) -> None:
    """The Daily and Trade accounts reports and the P&L of a trade date (or a range)."""
    keys = _keys(_days(day, start, end))
    _print(materialize(load_settings(), DAILY_REPORT, keys))


@report.command("monthly")
@operator_errors
def report_monthly(
    month: Annotated[str, typer.Option("--month", help="the calendar month, YYYY-MM")],
) -> None:
    """The Summary report of a calendar month (from its Daily reports)."""
    first = _trade_date(f"{month}-01", "--month")
    _print(materialize(load_settings(), ("monthly_summary",), [first.isoformat()]))


@export.command("emir")
@operator_errors
def export_emir(day: DayOption = None, start: FromOption = None, end: ToOption = None) -> None:
    """EMIR REFIT trade reports (XML and CSV) of a trade date; nothing new is written twice."""
    _print(materialize(load_settings(), EXPORTS["emir"], _keys(_days(day, start, end))))


@export.command("mifir")
@operator_errors
def export_mifir(day: DayOption = None, start: FromOption = None, end: ToOption = None) -> None:
    """MiFIR RTS 22 transaction reports (CSV) of a trade date."""
    _print(materialize(load_settings(), EXPORTS["mifir"], _keys(_days(day, start, end))))


@operator_errors
def snapshot() -> None:
    """Rebuild the analysts' DuckDB/Parquet snapshot and switch readers to it."""
    _print(materialize(load_settings(), SNAPSHOT, [None]))
