"""A swap rollover due while the service is down is charged when it starts again, once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import redis

from execution import contracts as c
from execution.inbox import LpQuote
from execution.service.client import CommandClient
from tests.integration.execution.conftest import Running, launch
from tests.integration.execution.support import create_account, create_group, place, until


def _clock(at: datetime) -> Callable[[], int]:
    """A clock that starts at `at` and runs at the speed of the real one."""
    offset = int(at.timestamp()) * 1_000_000_000 - time.time_ns()
    return lambda: time.time_ns() + offset


def _priced(running: Running, clock: Callable[[], int]) -> None:
    running.lps["lp-alpha"].quote("BTCUSD", Decimal("64000.00"), Decimal("64001.00"))
    running.inbox.put(
        LpQuote("lp-alpha", "BTCUSD", Decimal("64000.00"), Decimal("64001.00"), clock())
    )


def _swap(db_url: str, position_id: int) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT swap FROM positions WHERE id = %s", (position_id,)).fetchone()
    return None if row is None else row[0]


def test_rollovers_missed_while_down_are_charged_once_on_restart(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn)
        account = create_account(conn, group, Decimal(10_000))
    client = CommandClient(redis_client)
    # Wednesday 2026-03-04 12:00 UTC: the day's cut is at 17:00 New York = 22:00 UTC
    clock = _clock(datetime(2026, 3, 4, 12, tzinfo=UTC))
    running = launch(seeded_db_url, redis_url, clock=clock)
    try:
        _priced(running, clock)
        opened = client.request(place("buy", account.account_id, "buy", "0.01"))
        assert isinstance(opened, c.Accepted), opened
        position = opened.position_id or 0
        time.sleep(0.5)  # a few timer passes before the cut: nothing charged
        assert _swap(seeded_db_url, position) == 0
    finally:
        running.stop()

    # down over two cuts (Wednesday's and Thursday's), back on Thursday 23:00 UTC
    clock = _clock(datetime(2026, 3, 5, 23, tzinfo=UTC))
    running = launch(seeded_db_url, redis_url, clock=clock)
    try:
        _priced(running, clock)
        # BTCUSD swaps by annual interest, -20 % a year for buys, over a 360-day year, on the
        # position's value at the client bid (63999.99: 64000.00 less the group's markup)
        one_day = (Decimal(-20) / 100 / 360 * Decimal("0.01") * Decimal("63999.99")).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
        until(lambda: _swap(seeded_db_url, position) == 2 * one_day)
    finally:
        running.stop()

    # started once more, still before Friday's cut: nothing is charged twice
    running = launch(seeded_db_url, redis_url, clock=clock)
    try:
        _priced(running, clock)
        time.sleep(1)
        assert _swap(seeded_db_url, position) == 2 * one_day
    finally:
        running.stop()
