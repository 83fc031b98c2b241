"""At each daily cut the service journals every account and open position as the core values
them, and the cut's USD rates: the figures the Daily report and the P&L show. Its ledger
postings carry the core's time, so a report cuts them on the same clock as the deals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import redis

from execution import contracts as c
from execution.service.client import CommandClient
from tests.integration.execution.conftest import launch
from tests.integration.execution.support import create_account, create_group, deposit, place, until
from tests.integration.execution.test_service_replay import Clock, _quote


def test_the_cut_states_each_account_and_position_at_the_cut_prices(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn, markup_points=0)
        account = create_account(conn, group, Decimal(10_000))
        idle = create_account(conn, group, Decimal(250))
    aid = account.account_id
    # Wednesday 2026-03-04 21:00 UTC: an hour before the 17:00 New York cut
    clock = Clock(datetime(2026, 3, 4, 21, 0, tzinfo=UTC))
    running = launch(seeded_db_url, redis_url, clock=clock)
    client = CommandClient(redis_client)
    try:
        _quote(running, clock, "64000.00", "64001.00")
        assert isinstance(client.request(deposit("dep", account, "500.00")), c.Accepted)
        opened = client.request(place("buy", aid, "buy", "0.05"))
        assert isinstance(opened, c.Accepted)
        clock.jump(datetime(2026, 3, 4, 21, 59, 59, tzinfo=UTC))
        _quote(running, clock, "64100.00", "64102.00")
        rows = "SELECT count(*) FROM account_statements WHERE trading_account_id = %s"
        with psycopg.connect(seeded_db_url) as conn:
            until(lambda: conn.execute(rows, (aid,)).fetchone() == (1,), timeout=15)
    finally:
        running.stop()

    cut = datetime(2026, 3, 4, 22, 0, tzinfo=UTC)
    with psycopg.connect(seeded_db_url) as conn:
        statement = conn.execute(
            """SELECT balance, credit, floating_profit, equity, margin, free_margin, valued
               FROM account_statements WHERE trading_account_id = %s AND cut = %s""",
            (aid, cut),
        ).fetchone()
        position = conn.execute(
            """SELECT side, volume, open_price, close_price, profit, swap, book
               FROM position_statements WHERE trading_account_id = %s AND cut = %s""",
            (aid, cut),
        ).fetchone()
        idle_balance = conn.execute(
            "SELECT balance, equity FROM account_statements WHERE trading_account_id = %s",
            (idle.account_id,),
        ).fetchone()
        btc = conn.execute(
            "SELECT usd_rate FROM cut_rates WHERE cut = %s AND currency = 'BTC'", (cut,)
        ).fetchone()
        posted = conn.execute(
            """SELECT t.created_at FROM ledger_transfers t
               WHERE t.idempotency_key LIKE 'execution:%%' AND t.kind = 'trading_deposit'"""
        ).fetchone()
    # bought 0.05 BTC at the ask 64001.00; at the cut it closes at the bid 64100.00:
    # (64100 - 64001) x 0.05 x 1 = 4.95 USD. The cut's rollover charged one day of interest
    # (-20% a year, 360 days) on 0.05 x 64100 = 3205 USD: -3205 x 0.20 / 360 = -1.78
    assert position == ("BUY", Decimal("0.05"), Decimal("64001.00"), Decimal("64100.00"),
                        Decimal("4.95"), Decimal("-1.78"), "b")  # fmt: skip
    assert statement is not None
    balance, credit, floating, equity, margin, free_margin, valued = statement
    assert (balance, credit, floating, equity) == (
        Decimal("10500"),
        Decimal(0),
        Decimal("3.17"),
        Decimal("10503.17"),
    )
    assert valued
    assert margin > 0
    assert free_margin == equity - margin
    # an account without positions is stated too: its equity is its balance
    assert idle_balance == (Decimal(250), Decimal(250))
    # the raw aggregate's mid at the cut: (64100 + 64102) / 2
    assert btc == (Decimal("64101"),)
    # the deposit is posted at the core's time (21:00 UTC on the 4th), not the server's now
    assert posted is not None
    assert posted[0].astimezone(UTC) < cut
