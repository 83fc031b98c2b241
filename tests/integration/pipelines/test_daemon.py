"""The dagster-daemon on the stack's instance configuration (dagster_home/dagster.yaml:
PostgreSQL storage, the queued run coordinator) evaluates a schedule, queues its run for a
trading-day partition and launches it: the partition's candles appear and the run succeeds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from brokerstack.dagster_instance import dagster_database_url
from brokerstack.settings import Settings
from tests.integration.pipelines import support as s


def test_the_daemon_runs_a_scheduled_partition(
    conn: psycopg.Connection[Any], seeded_db_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    conn.execute("SELECT create_tick_partitions('2026-03-01', '2026-04-01')")
    conn.execute(
        """INSERT INTO ticks (time, symbol, source, bid, ask)
           VALUES (%s, 'EURUSD', 'lp-alpha', 1.08, 1.0801)""",
        (datetime(2026, 3, 10, 9, 0, 10, tzinfo=UTC),),
    )
    storage = f"dagster_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {storage}")
    storage_url = dagster_database_url(seeded_db_url).rsplit("/", 1)[0] + f"/{storage}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROKERSTACK_", "DAGSTER"))}
    env |= {
        "DAGSTER_HOME": str(Settings().dagster_home_path),  # the configuration as shipped
        "BROKERSTACK_DAGSTER_DATABASE_URL": storage_url,
        "BROKERSTACK_DAGSTER_ARTIFACTS": str(tmp_path / "storage"),
        "BROKERSTACK_DAGSTER_COMPUTE_LOGS": str(tmp_path / "logs"),
        "BROKERSTACK_DATABASE_URL": seeded_db_url,
        "BROKERSTACK_DATA_DIR": str(tmp_path / "data"),
    }
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run",
         "-m", "tests.integration.pipelines.daemon_definitions"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    runs = storage_url.replace("postgresql+psycopg2://", "postgresql://")
    status = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and status not in ("SUCCESS", "FAILURE"):
            time.sleep(3)
            try:
                with psycopg.connect(runs) as dagster:
                    row = dagster.execute(
                        """SELECT r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id
                           WHERE t.key = 'dagster/partition' AND t.value = '2026-03-09'"""
                    ).fetchone()
            except psycopg.errors.UndefinedTable:
                continue  # the daemon has not created its tables yet
            status = row[0] if row else None
    finally:
        daemon.terminate()
        output = daemon.communicate(timeout=30)[0]
    assert status == "SUCCESS", output[-3000:]
    assert s.one(conn, "SELECT sum(tick_count) FROM candles_1m") == 1
