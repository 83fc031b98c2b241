"""IB and prop daily totals per trading day, and the IB commission check.

No ``from __future__ import annotations`` here: Dagster reads the context parameter's
annotation when it builds a definition and refuses one that is a string.
"""

import dagster as dg

from pipelines.partitions import trading_day, trading_days
from pipelines.partners.ib import build_ib_daily, build_ib_referred_daily, ib_daily_mismatches
from pipelines.partners.prop import build_prop_daily
from pipelines.resources import Warehouse


@dg.asset(partitions_def=trading_days)
def ib_daily(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult[None]:
    """IB commission per partner and currency by the day of its deals (``reports.ib_daily``)."""
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        rows = build_ib_daily(conn, day)
    return dg.MaterializeResult(metadata={"trade_date": str(day.trade_date), "rows": rows})


@dg.asset(partitions_def=trading_days)
def ib_referred_daily(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult[None]:
    """Per IB partner, its referred clients who traded in the day and their lots
    (``reports.ib_referred_daily``)."""
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        rows = build_ib_referred_daily(conn, day)
    return dg.MaterializeResult(metadata={"trade_date": str(day.trade_date), "rows": rows})


@dg.asset(partitions_def=trading_days)
def prop_daily(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult[None]:
    """Per prop product: sales, fees, the running book at the cut, phases passed and breached
    (``reports.prop_daily``)."""
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        rows = build_prop_daily(conn, day)
    return dg.MaterializeResult(metadata={"trade_date": str(day.trade_date), "rows": rows})


@dg.asset_check(asset=ib_daily, blocking=True)
def ib_daily_matches_accruals(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Each partner's and currency's reported amount equals the sum of its accrual rows for
    the day's deals (reversals included), and no partner is missing or extra."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        mismatches = ib_daily_mismatches(conn, day)
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata={
            "trade_date": str(day.trade_date),
            "mismatches": "; ".join(
                f"partner {m.ib_partner_id} {m.currency}: reported {m.reported}, "
                f"accrued {m.accrued}"
                for m in mismatches
            )
            or "none",
        },
    )
