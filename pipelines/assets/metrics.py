"""Client metrics per trading day, and their check against the raw tables.

No ``from __future__ import annotations`` here: Dagster reads the context parameter's
annotation when it builds a definition and refuses one that is a string.
"""

import dagster as dg

from pipelines.metrics.clients import build_client_metrics
from pipelines.metrics.reconcile import reconcile_client_metrics
from pipelines.partitions import trading_day, trading_days
from pipelines.resources import Warehouse


@dg.asset(partitions_def=trading_days)
def client_metrics(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult[None]:
    """Registrations, KYC funnel, FTDs, deposits, withdrawals and trading by brand, country,
    source and IB, in USD at the day's cut (``reports.client_metrics``)."""
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        written = build_client_metrics(conn, day)
    return dg.MaterializeResult(
        metadata={
            "trade_date": str(day.trade_date),
            "rows": written.rows,
            "currencies": ", ".join(written.currencies),
        }
    )


@dg.asset_check(asset=client_metrics, blocking=True)
def client_metrics_match_raw_totals(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Registrations, FTDs, deposits and withdrawals summed over the report equal the same
    totals taken straight from clients and payments."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        result = reconcile_client_metrics(conn, day)
    differences = result.differences
    return dg.AssetCheckResult(
        passed=not differences,
        metadata={
            "trade_date": str(day.trade_date),
            "registrations": result.raw.registrations,
            "deposits_usd": str(result.raw.deposits_usd),
            "withdrawals_usd": str(result.raw.withdrawals_usd),
            "differences": "; ".join(f"{k}: {v}" for k, v in differences.items()) or "none",
        },
    )
