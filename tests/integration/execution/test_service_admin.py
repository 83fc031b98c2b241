"""The back office's commands through the running service: an account's settings are written
on its row before the answer, hold across a restart and the refreshes of account flags, and
set the next order's margin; the dealer's close is booked as the dealer's."""

from __future__ import annotations

import time
from decimal import Decimal

import psycopg

from brokerstack.streams import ACCOUNT_STATES_HASH
from execution import contracts as c
from tests.integration.execution.conftest import Desk, launch
from tests.integration.execution.support import create_group, place


def _margin_after(desk: Desk, account_id: int, since: int) -> Decimal:
    """The account's margin as the service publishes it after `since` (ns)."""
    deadline = time.monotonic() + 10
    while True:
        data = desk.hash_field(ACCOUNT_STATES_HASH, str(account_id))
        state = c.decode_event(data) if data is not None else None
        if isinstance(state, c.AccountState) and state.time > since and state.positions:
            return state.margin
        assert time.monotonic() < deadline, f"last state {state!r}"
        time.sleep(0.05)


def test_a_leverage_change_is_journaled_and_sets_the_next_orders_margin(
    desk: Desk, redis_url: str
) -> None:
    aid = desk.account.account_id
    changed = desk.client.request(c.UpdateAccount(request_id="lev", account_id=aid, leverage=10))
    assert isinstance(changed, c.Accepted), changed
    assert changed.account is not None
    assert changed.account.leverage == 10
    # written before the answer
    assert desk.rows("SELECT leverage FROM trading_accounts WHERE id = %s", aid) == [(10,)]

    since = time.time_ns()
    opened = desk.client.request(place("buy-1", aid, "buy", "0.01"))
    assert isinstance(opened, c.Accepted), opened
    # BTCUSD is CFDLEVERAGE, contract 1: 0.01 x 64001.01 (the client ask) / 10 = 64.0010
    assert _margin_after(desk, aid, since) == Decimal("64.00")

    desk.running.stop()
    running = launch(desk.db_url, redis_url)
    try:
        restarted = Desk(
            running.service, running.inbox, running.lps, desk.client, desk.redis, desk.db_url,
            desk.account, desk.group_id, running,
        )  # fmt: skip
        restarted.quote("BTCUSD", "64000.00", "64001.00")
        since = time.time_ns()
        again = restarted.client.request(place("buy-2", aid, "buy", "0.01"))
        assert isinstance(again, c.Accepted), again
        # the netting position now 0.02, still at 1:10: 0.02 x 64001.01 / 10 = 128.0020
        assert _margin_after(restarted, aid, since) == Decimal("128.00")
    finally:
        running.stop()


def test_an_account_switched_off_stays_off_across_refreshes_and_the_dealer_closes_it(
    desk: Desk,
) -> None:
    aid = desk.account.account_id
    opened = desk.client.request(place("open", aid, "buy", "0.05"))
    assert isinstance(opened, c.Accepted), opened
    off = desk.client.request(c.UpdateAccount(request_id="off", account_id=aid, enabled=False))
    assert isinstance(off, c.Accepted), off
    assert desk.rows("SELECT enabled FROM trading_accounts WHERE id = %s", aid) == [(False,)]
    time.sleep(1)  # several refreshes of the account flags (every 0.2 s here)
    refused = desk.client.request(place("more", aid, "buy", "0.01"))
    assert isinstance(refused, c.Rejected)
    assert refused.code is c.RejectCode.ACCOUNT_DISABLED

    desk.quote("BTCUSD", "64000.00", "64001.00")  # fresh again after the wait
    closed = desk.client.request(c.DealerClose(request_id="dealer", account_id=aid, dealer="7"))
    assert isinstance(closed, c.Accepted), closed
    assert len(closed.deal_ids) == 1
    # sold 0.05 at the client bid 63999.99, bought at the ask 64001.01
    assert desk.rows(
        "SELECT reason, entry, price, profit FROM deals WHERE id = %s", closed.deal_ids[0]
    ) == [("dealer", "OUT", Decimal("63999.99"), Decimal("-0.05"))]
    assert desk.rows("SELECT status FROM positions WHERE id = %s", opened.position_id) == [
        ("CLOSED",)
    ]


def test_an_account_moves_to_a_group_of_its_kind_only(desk: Desk, redis_url: str) -> None:
    aid = desk.account.account_id
    with psycopg.connect(desk.db_url) as conn:
        other = create_group(conn, code="test-other")
        create_group(conn, code="test-live", kind="live")
    # the service reads groups when it starts: a group made since is unknown to it
    unknown = desk.client.request(
        c.UpdateAccount(request_id="move-0", account_id=aid, group="test-other")
    )
    assert isinstance(unknown, c.Rejected)
    assert unknown.code is c.RejectCode.INVALID_GROUP

    desk.running.stop()
    running = launch(desk.db_url, redis_url)
    try:
        wrong_kind = desk.client.request(
            c.UpdateAccount(request_id="move-1", account_id=aid, group="test-live")
        )
        assert isinstance(wrong_kind, c.Rejected)
        assert wrong_kind.code is c.RejectCode.INVALID_GROUP
        moved = desk.client.request(
            c.UpdateAccount(request_id="move-2", account_id=aid, group="test-other")
        )
        assert isinstance(moved, c.Accepted), moved
        assert desk.rows("SELECT account_group_id FROM trading_accounts WHERE id = %s", aid) == [
            (other,)
        ]
    finally:
        running.stop()
