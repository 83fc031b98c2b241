"""Candles on the plain-PostgreSQL path: the rollup tables recomputed for the day's window (on
TimescaleDB, continuous aggregates keep them and this does nothing)."""

# No `from __future__ import annotations`: Dagster checks the context annotation at runtime.
import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pipelines.partitions import trading_day, trading_days
from pipelines.resources import Warehouse
from warehouse.candles import refresh_candles, uses_continuous_aggregates


@dg.asset(
    partitions_def=trading_days,
    description="1-minute, 1-hour and 1-day candles of the day's ticks (plain PostgreSQL)",
)
def candles(context: AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult[None]:
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        if uses_continuous_aggregates(conn):
            return dg.MaterializeResult(metadata={"refreshed": False, "by": "timescaledb"})
        refresh_candles(conn, day.start, day.end)
        row = conn.execute(
            """SELECT count(*), coalesce(sum(tick_count), 0) FROM candles_1m
               WHERE bucket >= %s AND bucket < %s""",
            (day.start, day.end),
        ).fetchone()
    minutes, ticks = row if row else (0, 0)
    return dg.MaterializeResult(
        metadata={"refreshed": True, "minute_candles": int(minutes), "ticks": int(ticks)}
    )


@dg.asset_check(asset=candles)
def candles_count_every_tick(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """The day's minute candles count exactly the day's ticks."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM ticks WHERE time >= %(s)s AND time < %(e)s),
                      (SELECT coalesce(sum(tick_count), 0) FROM candles_1m
                       WHERE bucket >= %(s)s AND bucket < %(e)s)""",
            {"s": day.start, "e": day.end},
        ).fetchone()
    ticks, counted = row if row else (0, 0)
    return dg.AssetCheckResult(
        passed=ticks == counted, metadata={"ticks": int(ticks), "counted": int(counted)}
    )
