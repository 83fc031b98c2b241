"""Sensors (being written)."""

from __future__ import annotations

import dagster as dg

SENSORS: list[dg.SensorDefinition] = []
