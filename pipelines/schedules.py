"""Jobs and schedules (being written)."""

from __future__ import annotations

import dagster as dg

JOBS: list[dg.JobDefinition | dg.UnresolvedAssetJobDefinition] = []
SCHEDULES: list[dg.ScheduleDefinition] = []
