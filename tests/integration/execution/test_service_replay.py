"""A trading day rebuilt from the journal through the core gives back exactly what was
recorded; a change in the rules shows as the first difference."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import redis

from brokerstack.streams import TICK_WRITERS_GROUP, TICKS_STREAM
from execution import contracts as c
from execution.inbox import LpQuote
from execution.service.client import CommandClient
from execution.service.replay import replay_day
from tests.integration.execution.conftest import Running, launch
from tests.integration.execution.support import create_account, create_group, deposit, place, until
from tests.integration.ingest.support import start_writer


class Clock:
    """Runs at the real clock's speed from a chosen moment; can jump ahead."""

    def __init__(self, start: datetime) -> None:
        self.offset = 0
        self.jump(start)

    def jump(self, to: datetime) -> None:
        self.offset = int(to.timestamp() * 1e9) - time.time_ns()

    def __call__(self) -> int:
        return time.time_ns() + self.offset


def _replay_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERSTACK_")}
    env["BROKERSTACK_DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "brokerstack", "replay", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _quote(running: Running, clock: Callable[[], int], bid: str, ask: str) -> None:
    running.lps["lp-alpha"].quote("BTCUSD", Decimal(bid), Decimal(ask))
    running.inbox.put(LpQuote("lp-alpha", "BTCUSD", Decimal(bid), Decimal(ask), clock()))
    time.sleep(0.05)


def _written(client: redis.Redis) -> bool:
    """Every ticks stream entry is loaded into the warehouse."""
    groups = client.xinfo_groups(TICKS_STREAM)
    last = client.xinfo_stream(TICKS_STREAM)["last-generated-id"]
    return any(
        g["name"].decode() == TICK_WRITERS_GROUP and g["last-delivered-id"] == last
        and g["pending"] == 0
        for g in groups
    )  # fmt: skip


def test_a_replayed_day_matches_the_journal_and_a_changed_rule_shows_where(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn)
        account = create_account(conn, group, Decimal(10_000))
    writer = start_writer(seeded_db_url, redis_url, "replay-test")
    client = CommandClient(redis_client)
    aid = account.account_id
    # Wednesday 2026-03-04, a second before the 17:00 New York cut (22:00 UTC)
    clock = Clock(datetime(2026, 3, 4, 21, 59, 59, tzinfo=UTC))
    running = launch(seeded_db_url, redis_url, clock=clock)
    try:
        _quote(running, clock, "64000.00", "64001.00")
        rows = "SELECT count(*) FROM account_snapshots WHERE trading_account_id = %s"
        with psycopg.connect(seeded_db_url) as conn:
            until(lambda: conn.execute(rows, (aid,)).fetchone() == (1,), timeout=15)  # day start
        # the trade date 2026-03-05: a little of everything
        _quote(running, clock, "64010.00", "64011.00")
        opened = client.request(place("buy", aid, "buy", "0.05", tp=Decimal("65000.00")))
        assert isinstance(opened, c.Accepted)
        client.request(place("limit", aid, "buy", "0.02", type=c.OrderType.LIMIT,
                             price=Decimal("63900.00")))  # fmt: skip
        client.request(deposit("dep", account, "500.00"))
        _quote(running, clock, "63950.00", "63951.00")
        _quote(running, clock, "63890.00", "63891.00")  # the limit fills at the ask 63891.01
        client.request(
            c.ModifyPosition(request_id="sl", account_id=aid, position_id=opened.position_id or 0,
                             sl=Decimal("63000.00"))
        )  # fmt: skip
        client.request(place("sell", aid, "sell", "0.03"))  # netting: reduces
        _quote(running, clock, "64100.00", "64101.00")
        # to the next cut: the swap rollover and the day's closing image
        clock.jump(datetime(2026, 3, 5, 21, 59, 59, tzinfo=UTC))
        _quote(running, clock, "64200.00", "64201.00")
        with psycopg.connect(seeded_db_url) as conn:
            until(lambda: conn.execute(rows, (aid,)).fetchone() == (2,), timeout=15)
        _quote(running, clock, "64300.00", "64301.00")  # after the day: not replayed
        until(lambda: _written(redis_client), timeout=15)
    finally:
        running.stop()
        writer.terminate()
        writer.wait(10)

    with psycopg.connect(seeded_db_url) as conn:
        replayed = replay_day(conn, aid, date(2026, 3, 5))
        replayed_deals = [
            deal_id for (deal_id,) in conn.execute(
                "SELECT id FROM deals WHERE trading_account_id = %s ORDER BY executed_at", (aid,)
            )
        ]  # fmt: skip
        assert replayed.difference is None, str(replayed.difference)
        assert replayed.end_image
        assert (replayed.commands, replayed.deals) == (5, 3)
        assert replayed.prices >= 5
        # the operator's command says the same
        matched = _replay_cli(seeded_db_url, "--account", str(aid), "--day", "2026-03-05")
        assert matched.returncode == 0, matched.stdout + matched.stderr
        assert "replayed 5 commands" in matched.stdout
        assert "matches the journal" in matched.stdout
        # the broker changes the group's commission afterwards: the replay says where the
        # day no longer adds up under today's rules
        conn.execute(
            """UPDATE account_groups SET commission_plan_id =
                   (SELECT id FROM commission_plans WHERE code = 'raw-3.5')
               WHERE id = %s""",
            (group,),
        )
        changed = replay_day(conn, aid, date(2026, 3, 5))
    # the first deal of the day (0.05 lot) now pays 0.05 x 3.50 = 0.175, rounded away: 0.18
    first_deal = replayed_deals[0]
    assert changed.difference is not None
    assert changed.difference.what == f"commission of deal {first_deal}"
    assert (changed.difference.recorded, changed.difference.replayed) == (0, Decimal("-0.18"))
    assert str(changed.difference).startswith(
        f"commission of deal {first_deal} at 2026-03-04T22:00"
    )
    differs = _replay_cli(seeded_db_url, "--account", str(aid), "--day", "2026-03-05")
    assert differs.returncode == 1
    assert f"differs: commission of deal {first_deal} at 2026-03-04T22:00" in differs.stdout
    # a day before the account's first image, and a day that is not a date: one line, exit 1
    for args, needle in (
        (("--day", "2026-01-05"), f"account {aid} has no image"),
        (("--day", "5 March"), "is not a date"),
    ):
        refused = _replay_cli(seeded_db_url, "--account", str(aid), *args)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        lines = [line for line in refused.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, refused.stderr
        assert needle in lines[0]
