"""The operators' commands: ``brokerstack report daily`` for a day and for a range (a
backfill, idempotent), with the files it wrote and exit 1 when a check fails; runs land on the
stack's Dagster instance (PostgreSQL storage beside the warehouse)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import psycopg

from tests.integration.pipelines import support as s
from tests.integration.pipelines.test_account_reports import _seed_day


def _brokerstack(db_url: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROKERSTACK_", "DAGSTER"))}
    env |= {"BROKERSTACK_DATABASE_URL": db_url, "BROKERSTACK_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "brokerstack", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_report_daily_writes_the_day_and_a_backfill_repeats_nothing(
    conn: psycopg.Connection[Any], seeded_db_url: str, tmp_path: Path
) -> None:
    usd, eur = _seed_day(conn)
    done = _brokerstack(seeded_db_url, tmp_path, "report", "daily", "--day", "2026-03-09")
    assert done.returncode == 0, done.stdout + done.stderr
    daily = tmp_path / "exports" / "reports" / "2026-03-09" / "daily.csv"
    assert str(daily) in done.stdout
    assert daily.exists()
    # Tuesday, stated by the core: a backfill of both days, twice
    tuesday = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
    s.statement(conn, usd, tuesday, balance=D("2034.55"), floating=D(45))
    s.statement(conn, eur, tuesday, balance=D(1750))
    for _ in range(2):
        done = _brokerstack(
            seeded_db_url, tmp_path, "report", "daily", "--from", "2026-03-09", "--to", "2026-03-10"
        )
        assert done.returncode == 0, done.stdout + done.stderr
    rows = conn.execute(
        "SELECT trade_date, count(*) FROM reports.daily_accounts GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [(d.isoformat(), n) for d, n in rows] == [("2026-03-09", 2), ("2026-03-10", 2)]
    # the runs are on the instance the UI reads
    dagster_url = seeded_db_url.rsplit("/", 1)[0] + "/dagster"
    with psycopg.connect(dagster_url) as dagster:
        assert s.one(dagster, "SELECT count(*) FROM runs") >= 3


def test_report_daily_exits_1_when_a_check_fails(
    conn: psycopg.Connection[Any], seeded_db_url: str, tmp_path: Path
) -> None:
    usd, _ = _seed_day(conn)
    s.trading_deposit(conn, usd, D(75), datetime(2026, 3, 9, 10, tzinfo=UTC))
    done = _brokerstack(seeded_db_url, tmp_path, "report", "daily", "--day", "2026-03-09")
    assert done.returncode == 1
    assert "balances_roll_forward" in done.stderr


def test_report_daily_refuses_a_weekend_and_a_bad_date(seeded_db_url: str, tmp_path: Path) -> None:
    weekend = _brokerstack(seeded_db_url, tmp_path, "report", "daily", "--day", "2026-03-08")
    assert (weekend.returncode, "weekend" in weekend.stderr) == (1, True)
    bad = _brokerstack(seeded_db_url, tmp_path, "report", "daily", "--day", "09/03/2026")
    assert (bad.returncode, "not a date" in bad.stderr) == (1, True)
