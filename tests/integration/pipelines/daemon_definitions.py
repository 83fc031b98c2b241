"""A code location for the daemon test: the real candles asset and its job, with a schedule
that fires every minute for one trading day (the stack's own fires once a day at 17:30 New
York). The warehouse comes from BROKERSTACK_DATABASE_URL, as in the stack."""

import dagster as dg

from pipelines.assets.candles import candles, candles_count_every_tick
from pipelines.partitions import trading_days
from pipelines.resources import DataFolders, Warehouse

KEY = "2026-03-09"

candles_job = dg.define_asset_job("candles_job", selection=[candles], partitions_def=trading_days)


@dg.schedule(
    cron_schedule="* * * * *", job=candles_job, default_status=dg.DefaultScheduleStatus.RUNNING
)
def every_minute(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"test-{KEY}", partition_key=KEY)


defs = dg.Definitions(
    assets=[candles],
    asset_checks=[candles_count_every_tick],
    jobs=[candles_job],
    schedules=[every_minute],
    resources={
        "warehouse": Warehouse(url=dg.EnvVar("BROKERSTACK_DATABASE_URL")),
        "folders": DataFolders(root=dg.EnvVar("BROKERSTACK_DATA_DIR")),
    },
)
