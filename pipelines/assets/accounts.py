"""The account reports: MT5's Daily report per trade date (with the Trade accounts report
beside it) and the Summary report per calendar month."""

# No `from __future__ import annotations`: Dagster checks the context annotation at runtime.
import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pipelines.accounts.daily import build_daily_accounts, ledger_difference, unrolled_balances
from pipelines.accounts.summary import (
    DAILY_COLUMNS,
    SUMMARY_COLUMNS,
    TRADE_ACCOUNTS_COLUMNS,
    build_monthly_summary,
)
from pipelines.files import export_table
from pipelines.partitions import month, months, trading_day, trading_days
from pipelines.resources import DataFolders, Warehouse


@dg.asset(
    partitions_def=trading_days,
    description="MT5's Daily report per trading account at the day's cut (reports.daily_accounts)",
)
def daily_account_report(
    context: AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult[None]:
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        report = build_daily_accounts(conn, day)
    return dg.MaterializeResult(
        metadata={
            "trade_date": str(day.trade_date),
            "accounts": report.accounts,
            "deposits": float(report.deposits),
            "withdrawals": float(report.withdrawals),
            "closed_profit": float(report.closed_profit),
        }
    )


@dg.asset_check(asset=daily_account_report, blocking=True)
def balances_roll_forward(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """previous balance + the day's movements = balance, for every account."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        broken = unrolled_balances(conn, day)
    return dg.AssetCheckResult(
        passed=not broken,
        metadata={"accounts": len(broken), "first": str(broken[:5])},
    )


@dg.asset_check(asset=daily_account_report, blocking=True)
def report_matches_ledger(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """The report's movements for the day equal the ledger's on trading accounts."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        reported, ledger = ledger_difference(conn, day)
    return dg.AssetCheckResult(
        passed=reported == ledger,
        metadata={"report": str(reported), "ledger": str(ledger)},
    )


@dg.asset(
    partitions_def=trading_days,
    deps=[daily_account_report],
    description="The Daily and Trade accounts reports of a trade date as CSV files",
)
def daily_report_files(
    context: AssetExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.MaterializeResult[None]:
    day = trading_day(context.partition_key)
    folder = folders.folder("exports", "reports", str(day.trade_date))
    where, params = "trade_date = %(d)s", {"d": day.trade_date}
    with warehouse.connection() as conn:
        daily = folder / "daily.csv"
        trade = folder / "trade-accounts.csv"
        rows = export_table(conn, daily, "reports.daily_accounts", DAILY_COLUMNS, where, params)
        export_table(conn, trade, "reports.daily_accounts", TRADE_ACCOUNTS_COLUMNS, where, params)
    return dg.MaterializeResult(
        metadata={"rows": rows, "daily": str(daily), "trade_accounts": str(trade)}
    )


@dg.asset(
    partitions_def=months,
    deps=[daily_account_report],
    description="MT5's Summary report per account and calendar month, with its CSV file",
)
def monthly_summary(
    context: AssetExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.MaterializeResult[None]:
    period = month(context.partition_key)
    path = folders.folder("exports", "reports", period.first.strftime("%Y-%m")) / "summary.csv"
    with warehouse.connection() as conn:
        rows = build_monthly_summary(conn, period)
        export_table(
            conn, path, "reports.monthly_summary", SUMMARY_COLUMNS, "month = %(m)s",
            {"m": period.first},
        )  # fmt: skip
    return dg.MaterializeResult(metadata={"accounts": rows, "file": str(path)})
