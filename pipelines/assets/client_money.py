"""The daily client-money reconciliation and its checks (the work: ``pipelines.client_money``).

The differences check is not blocking: staff explain a difference after the run, so a run
with a difference always ends with this check failing (severity ERROR) until it is explained
and the check is run again; nothing downstream waits for it. The totals and archive checks
are blocking: a wrong figure or a tampered archive must stop anything built on it.
"""

from pathlib import Path

import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pipelines.client_money import reconcile_day
from pipelines.client_money.sensor import RECONCILIATION_ASSET
from pipelines.client_money.verify import (
    archive_mismatches,
    totals_mismatches,
    unexplained_differences,
)
from pipelines.partitions import trading_day, trading_days
from pipelines.resources import DataFolders, Warehouse


@dg.asset(name=RECONCILIATION_ASSET, partitions_def=trading_days)
def client_money_reconciliation(
    context: AssetExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.MaterializeResult[None]:
    """Per brand and currency: clients' entitlement at the cut against the client-money bank
    balances of the trade date; a new version only when the facts changed."""
    day = trading_day(context.partition_key)
    result = reconcile_day(warehouse.url, folders.root, day.trade_date)
    rejected = {f.name: f.error for f in result.files if f.status == "rejected"}
    for name, error in rejected.items():
        context.log.error(f"settlement file {name} rejected: {error}")
    return dg.MaterializeResult(
        metadata={
            "trade_date": day.trade_date.isoformat(),
            "files_loaded": [f.name for f in result.files if f.status == "loaded"],
            "files_rejected": rejected,
            "versions_written": len(result.written),
            "unchanged": result.unchanged,
            "shortfalls": [
                f"{w.brand} {w.currency}: {w.difference}"
                for w in result.written
                if w.status == "shortfall"
            ],
            "unvalued_accounts": result.unvalued_accounts,
            "archives": [w.archive_path for w in result.written],
        }
    )


def _result(problems: list[str], severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        severity=severity,
        metadata={"problems": problems[:50], "count": len(problems)},
    )


@dg.asset_check(asset=client_money_reconciliation, blocking=False)
def client_money_differences_explained(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every latest reconciliation with a difference has a staff explanation; any other is
    flagged here."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        problems = unexplained_differences(conn, day.trade_date)
    return _result(problems, dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset=client_money_reconciliation, blocking=True)
def client_money_lines_sum_to_totals(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Each reconciliation's lines add up to its entitlement, and held - entitlement is its
    difference and status."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        problems = totals_mismatches(conn, day.trade_date)
    return _result(problems, dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset=client_money_reconciliation, blocking=True)
def client_money_archive_matches(
    context: AssetCheckExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.AssetCheckResult:
    """Each reconciliation's archive file is there and matches its SHA-256."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        problems = archive_mismatches(conn, Path(folders.root), day.trade_date)
    return _result(problems, dg.AssetCheckSeverity.ERROR)
