"""Kill the service with SIGKILL in the middle of a stream of orders and start it again: every
acknowledged order is there exactly once, no deal is duplicated, and balances reconcile with
the journal; the restarted service carries on from the warehouse's state."""

from __future__ import annotations

import signal
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from execution import contracts as c
from execution.service.batch import Batch
from execution.service.client import CommandClient
from execution.service.publisher import Publisher
from tests.integration.execution.conftest import Desk, launch
from tests.integration.execution.support import (
    create_account,
    create_group,
    deposit,
    place,
    start_service,
    stop_service,
)

ORDERS = 400
OPENING = Decimal(50_000)


def _wait_for(client: CommandClient, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(client.received) < count:
        assert time.monotonic() < deadline, f"only {len(client.received)} replies"
        client.poll(0.1)


def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn)
        accounts = [create_account(conn, group, OPENING) for _ in range(4)]
    client = CommandClient(redis_client)
    log = tmp_path / "service.log"
    service = start_service(seeded_db_url, redis_url, log)
    client.request(deposit("dep-0", accounts[0], "1000.00"), timeout=60)  # up and priced

    commands = [
        place(f"o-{n}", accounts[n % 4].account_id, "buy" if (n // 4) % 2 == 0 else "sell", "0.01")
        for n in range(ORDERS)
    ]

    def feed() -> None:
        sender = CommandClient(redis.Redis.from_url(redis_url), requester=client.requester)
        for n in range(0, ORDERS, 8):
            for command in commands[n : n + 8]:
                sender.send(command)
            time.sleep(0.01)

    feeder = threading.Thread(target=feed)
    feeder.start()
    _wait_for(client, ORDERS // 4, timeout=60)
    assert stop_service(service, signal.SIGKILL) == -signal.SIGKILL
    before_kill = dict(client.received)
    service = start_service(seeded_db_url, redis_url, log)
    try:
        feeder.join()
        client.wait([cmd.request_id for cmd in commands], timeout=120)
        last = client.request(deposit("dep-last", accounts[0], "1.00"), timeout=30)
    finally:
        assert stop_service(service) == 0

    assert len(before_kill) < ORDERS + 1, "the kill came after the stream"
    replies = client.received
    # an answer given before the kill is the answer given for good
    assert all(replies[rid] == reply for rid, reply in before_kill.items())
    accepted = {rid: r for rid, r in replies.items() if isinstance(r, c.Accepted)}
    assert [r for r in replies.values() if isinstance(r, c.Rejected)] == []
    assert len(accepted) == ORDERS + 2
    with psycopg.connect(seeded_db_url) as conn:
        orders: dict[str, int] = dict(
            conn.execute("SELECT request_id, count(*) FROM orders GROUP BY request_id").fetchall()
        )
        assert orders == dict.fromkeys((cmd.request_id for cmd in commands), 1)
        order_ids: dict[str, int] = dict(
            conn.execute("SELECT request_id, id FROM orders").fetchall()
        )
        assert {rid: order_ids[rid] for rid in orders} == {
            rid: accepted[rid].order_id for rid in orders
        }
        deals = conn.execute(
            "SELECT count(*), count(DISTINCT id), count(DISTINCT order_id) FROM deals"
        ).fetchone()
        assert deals == (ORDERS, ORDERS, ORDERS)
        journal = conn.execute(
            "SELECT count(*), count(DISTINCT request_id) FROM command_journal"
        ).fetchone()
        assert journal == (ORDERS + 2, ORDERS + 2)
        for account in accounts:
            _assert_reconciled(conn, account.account_id)
        (balance,) = conn.execute(
            "SELECT balance FROM trading_accounts WHERE id = %s", (accounts[0].account_id,)
        ).fetchone() or (None,)
    # the restarted core's balance is the warehouse's
    assert isinstance(last, c.Accepted)
    assert last.balance == balance
    assert redis_client.xpending("commands:main", "execution")["pending"] == 0


def _assert_reconciled(conn: psycopg.Connection[Any], account_id: int) -> None:
    """balance = opening + deals' profit, commission and swap + balance operations, and the
    trading account's ledger entries say the same (credit-normal: negated)."""
    row = conn.execute(
        """SELECT a.balance,
                  (SELECT coalesce(sum(profit + commission + swap), 0) FROM deals
                   WHERE trading_account_id = a.id),
                  (SELECT coalesce(sum(-e.amount), 0) FROM ledger_entries e
                   JOIN ledger_transfers t ON t.id = e.transfer_id
                   JOIN ledger_accounts l ON l.id = e.ledger_account_id
                   WHERE l.trading_account_id = a.id AND t.kind <> 'trading_result'),
                  (SELECT coalesce(sum(-e.amount), 0) FROM ledger_entries e
                   JOIN ledger_accounts l ON l.id = e.ledger_account_id
                   WHERE l.trading_account_id = a.id)
           FROM trading_accounts a WHERE a.id = %s""",
        (account_id,),
    ).fetchone()
    assert row is not None
    balance, trading, operations, ledger = row
    assert balance == OPENING + trading + operations
    assert ledger == balance - OPENING


def test_a_command_journaled_but_never_acknowledged_is_answered_from_the_journal_on_restart(
    desk: Desk, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window between the commit and the acknowledgement: the restarted service finds
    the entry still pending, and answers it from the command journal without executing it."""
    send = Publisher.send

    def redis_down(publisher: Publisher, batch: Batch) -> None:
        if batch.acks:
            raise redis.ConnectionError("redis gone")
        send(publisher, batch)

    monkeypatch.setattr(Publisher, "send", redis_down)
    aid = desk.account.account_id
    desk.client.send(place("in-between", aid, "buy", "0.02"))
    deadline = time.monotonic() + 10
    while not desk.rows("SELECT 1 FROM command_journal WHERE request_id = 'in-between'"):
        assert time.monotonic() < deadline, "never journaled"
        time.sleep(0.02)
    desk.running.stop()  # gives up publishing: nothing acknowledged
    assert [str(e) for e in desk.running.errors] == ["stopped while publishing a batch"]
    assert desk.redis.xpending("commands:main", "execution")["pending"] == 1
    monkeypatch.setattr(Publisher, "send", send)

    restarted = launch(desk.db_url, redis_url)
    try:
        reply = desk.client.wait(["in-between"])["in-between"]
    finally:
        restarted.stop()

    assert isinstance(reply, c.Accepted)
    assert reply.state is c.OrderState.FILLED
    assert desk.rows("SELECT count(*) FROM orders WHERE request_id = 'in-between'") == [(1,)]
    assert desk.rows("SELECT count(*) FROM deals WHERE trading_account_id = %s", aid) == [(1,)]
    assert desk.redis.xpending("commands:main", "execution")["pending"] == 0
