"""The day's P&L (clients' and broker's) and the net exposure at the cut."""

# No `from __future__ import annotations`: Dagster checks the context annotation at runtime.
import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pipelines.partitions import trading_day, trading_days
from pipelines.pnl.daily import build_daily_pnl, unreported_deals
from pipelines.pnl.exposure import build_exposure, exposure_difference
from pipelines.resources import Warehouse


@dg.asset(
    partitions_def=trading_days,
    deps=["daily_account_report"],
    description="P&L per account, symbol and book with the broker's revenue (reports.daily_pnl)",
)
def daily_pnl(context: AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult[None]:
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        pnl = build_daily_pnl(conn, day)
    revenue = pnl.broker_revenue_usd
    return dg.MaterializeResult(
        metadata={
            "trade_date": str(day.trade_date),
            "rows": pnl.rows,
            "client_pnl": float(pnl.client_pnl),
            "broker_revenue_usd": None if revenue is None else float(revenue),
        }
    )


@dg.asset_check(asset=daily_pnl, blocking=True)
def every_deal_in_the_pnl(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every deal of the day has an account and an instrument, and the P&L holds them all."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        found = unreported_deals(conn, day)
    passed = (
        found["orphans"] == 0
        and found["deals_profit"] == found["report_profit"]
        and found["deals_volume"] == found["report_volume"]
    )
    return dg.AssetCheckResult(passed=passed, metadata={k: str(v) for k, v in found.items()})


@dg.asset(
    partitions_def=trading_days,
    description="Net exposure per brand, symbol and book at the cut (reports.exposure)",
)
def net_exposure(
    context: AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult[None]:
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        rows = build_exposure(conn, day)
    return dg.MaterializeResult(metadata={"rows": rows})


@dg.asset_check(asset=net_exposure, blocking=True)
def exposure_matches_positions(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """The exposure's net lots per symbol and book equal the open positions at the cut."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        differences = exposure_difference(conn, day)
    return dg.AssetCheckResult(
        passed=not differences, metadata={"differences": str(differences[:10])}
    )
