"""The pipeline processes ``brokerstack up`` runs: the Dagster UI and exactly one daemon
(schedules, sensors and the run queue), both on the instance in dagster_home/ (its database
beside the warehouse) and the code location pipelines.definitions."""

from __future__ import annotations

import sys
from pathlib import Path

from brokerstack.settings import Settings
from brokerstack.supervisor import ProcessSpec


def pipeline_processes(settings: Settings, env: dict[str, str]) -> list[ProcessSpec]:
    bin_dir = Path(sys.executable).parent
    url = f"http://{settings.host}:{settings.dagster_port}"
    code = ["-m", "pipelines.definitions"]
    return [
        ProcessSpec(
            name="dagster-webserver",
            argv=[str(bin_dir / "dagster-webserver"), "-h", settings.host, "-p",
                  str(settings.dagster_port), *code],
            endpoint=f"{url}  (pipelines: assets, runs, schedules)",
            env=env,
            ready_port=(settings.host, settings.dagster_port),
            ready_timeout=180.0,
        ),
        # after the UI, so the two do not create the instance's tables at the same time
        ProcessSpec(name="dagster-daemon", argv=[str(bin_dir / "dagster-daemon"), "run", *code],
                    env=env, after=("dagster-webserver",)),
    ]  # fmt: skip
