"""Jobs and schedules: the trading day's close, the month's end, the analysts' snapshot.

The close runs half an hour after the 17:00 New York cut, when the execution service has
journaled the cut's statements; it asks for the partition of the day that just ended (Dagster's
own partitioned schedule would fire at 17:00 sharp, before the statements are there). The
client-money reconciliation is not in it: it waits for the banks' statements of the day, and
the settlement-files sensor starts it when they arrive.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from pipelines.assets import ALL_ASSETS
from pipelines.client_money.sensor import client_money_job
from pipelines.partitions import NEW_YORK, key_for, months, trading_days

# Started by the settlement-files sensor instead (client_money_job).
_ON_SETTLEMENT = {"client_money_reconciliation"}
TRADING_DAY_ASSETS = [
    a
    for a in ALL_ASSETS
    if a.partitions_def == trading_days and a.key.to_user_string() not in _ON_SETTLEMENT
]
MONTHLY_ASSETS = [a for a in ALL_ASSETS if a.partitions_def == months]
UNPARTITIONED_ASSETS = [a for a in ALL_ASSETS if a.partitions_def is None]

trading_day_close = dg.define_asset_job(
    "trading_day_close",
    selection=dg.AssetSelection.assets(*TRADING_DAY_ASSETS),
    partitions_def=trading_days,
    description="Every report, export and check of a trading day",
)
month_end = dg.define_asset_job(
    "month_end",
    selection=dg.AssetSelection.assets(*MONTHLY_ASSETS),
    partitions_def=months,
    description="The monthly statements",
)
refresh_snapshot = dg.define_asset_job(
    "refresh_snapshot",
    selection=dg.AssetSelection.assets(*UNPARTITIONED_ASSETS),
    description="The analysts' DuckDB/Parquet snapshot",
)


@dg.schedule(
    cron_schedule="30 17 * * 1-5",
    execution_timezone="America/New_York",
    job=trading_day_close,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def after_the_cut(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    """The trading day that ended at today's 17:00 New York cut."""
    trade_date = context.scheduled_execution_time.astimezone(NEW_YORK).date()
    key = key_for(trade_date)
    yield dg.RunRequest(run_key=f"close-{key}", partition_key=key)


at_month_end = dg.build_schedule_from_partitioned_job(
    month_end, hour_of_day=1, minute_of_hour=0, default_status=dg.DefaultScheduleStatus.RUNNING
)
nightly_snapshot = dg.ScheduleDefinition(
    name="nightly_snapshot",
    job=refresh_snapshot,
    cron_schedule="30 18 * * 1-5",
    execution_timezone="America/New_York",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

JOBS = [trading_day_close, month_end, refresh_snapshot, client_money_job]
SCHEDULES = [after_the_cut, at_month_end, nightly_snapshot]
