"""Sensors: new settlement files (bank statements of the client-money accounts) start the
reconciliation of the trade dates they cover."""

from __future__ import annotations

import dagster as dg

from pipelines.client_money.sensor import settlement_files_sensor

SENSORS: list[dg.SensorDefinition] = [settlement_files_sensor]
