"""Regulatory exports per trading day: EMIR REFIT trade reports and MiFIR transaction
reports, each with blocking checks that every reportable event went out once and that every
file validates and is intact on disk."""

from pathlib import Path

import dagster as dg

from pipelines.partitions import trading_day, trading_days
from pipelines.regulatory import Regime, export
from pipelines.regulatory.checks import event_problems, file_problems
from pipelines.resources import DataFolders, Warehouse


@dg.asset(partitions_def=trading_days)
def emir_reports(
    context: dg.AssetExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.MaterializeResult[None]:
    """EMIR REFIT reports of the day per brand: auth.030 XML and CSV under exports/emir/."""
    return _materialize(context, warehouse, folders, "emir")


@dg.asset(partitions_def=trading_days)
def mifir_reports(
    context: dg.AssetExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.MaterializeResult[None]:
    """MiFIR RTS 22 transaction reports of the day per brand (CFDs on venue-traded
    underlyings): CSV under exports/mifir/."""
    return _materialize(context, warehouse, folders, "mifir")


@dg.asset_check(asset=emir_reports, name="one_row_per_event", blocking=True)
def emir_one_row_per_event(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Each reportable EMIR event of the day is on record exactly once, as it is now."""
    return _events_check(context, warehouse, "emir")


@dg.asset_check(asset=emir_reports, name="files_validate", blocking=True)
def emir_files_validate(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.AssetCheckResult:
    """The day's EMIR files validated and match their checksums on disk."""
    return _files_check(context, warehouse, folders, "emir")


@dg.asset_check(asset=mifir_reports, name="one_row_per_event", blocking=True)
def mifir_one_row_per_event(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Each reportable MiFIR transaction of the day is on record exactly once, as it is now."""
    return _events_check(context, warehouse, "mifir")


@dg.asset_check(asset=mifir_reports, name="files_validate", blocking=True)
def mifir_files_validate(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.AssetCheckResult:
    """The day's MiFIR files validated and match their checksums on disk."""
    return _files_check(context, warehouse, folders, "mifir")


def _materialize(
    context: dg.AssetExecutionContext, warehouse: Warehouse, folders: DataFolders, regime: Regime
) -> dg.MaterializeResult[None]:
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        result = export(conn, Path(folders.root), regime, day)
    return dg.MaterializeResult(
        metadata={
            "trade_date": day.trade_date.isoformat(),
            "files": len(result.files),
            "paths": dg.MetadataValue.json([str(p) for p in result.files]),
            "events": result.events,
            "valid": result.valid,
        }
    )


def _events_check(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, regime: Regime
) -> dg.AssetCheckResult:
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        problems = event_problems(conn, regime, day)
    return _result(problems)


def _files_check(
    context: dg.AssetCheckExecutionContext,
    warehouse: Warehouse,
    folders: DataFolders,
    regime: Regime,
) -> dg.AssetCheckResult:
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        problems = file_problems(conn, Path(folders.root), regime, day)
    return _result(problems)


def _result(problems: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems), "count": len(problems)},
    )
