"""The pipelines' composition root: one ``Definitions`` for the webserver, the daemon, the
command line and the tests. Assets live by area in ``pipelines/assets/``; each calls one
function of its area's package, which does the work against the warehouse."""

from __future__ import annotations

import dagster as dg

from brokerstack.settings import Settings
from pipelines import assets, schedules, sensors
from pipelines.resources import DataFolders, Warehouse


def resources(settings: Settings) -> dict[str, object]:
    return {
        "warehouse": Warehouse(url=settings.database_dsn),
        "folders": DataFolders(root=str(settings.data_path)),
    }


def build(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=assets.ALL_ASSETS,
        asset_checks=assets.ALL_CHECKS,
        jobs=schedules.JOBS,
        schedules=schedules.SCHEDULES,
        sensors=sensors.SENSORS,
        resources=resources(settings),
    )


defs = build(Settings())
