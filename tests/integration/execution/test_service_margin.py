"""Margin call, stop-out and negative-balance write-off through the running service: the
client's position is closed by the service itself, the warehouse records it, the ledger books
the write-off, and the account's state says what happened."""

from __future__ import annotations

from decimal import Decimal

from brokerstack.streams import EVENT_FIELD
from execution import contracts as c
from tests.integration.execution.conftest import Desk
from tests.integration.execution.support import place, until


def _events(desk: Desk) -> list[c.Event]:
    return [c.decode_event(e[EVENT_FIELD]) for e in desk.entries("events")]


def test_margin_call_then_stop_out_and_write_off_through_the_service(desk: Desk) -> None:
    aid = desk.account.account_id
    opened = desk.client.request(place("big", aid, "buy", "10"))
    assert isinstance(opened, c.Accepted), opened
    # bought 10 at the client ask 64001.01 (64001.00 + the group's 1 point); leverage 100

    desk.quote("BTCUSD", "63400.00", "63401.00")  # client bid 63399.99, ask 63401.01
    # equity 10,000 + (63399.99 - 64001.01) x 10 = 3,989.80; margin 63401.01 x 10 / 100
    # = 6,340.10: 62.93 %, under the 100 % call, over the 50 % stop-out
    until(lambda: any(isinstance(e, c.MarginCall) for e in _events(desk)))
    call = next(e for e in _events(desk) if isinstance(e, c.MarginCall))
    assert (call.equity, call.margin, call.margin_level) == (
        Decimal("3989.80"), Decimal("6340.10"), Decimal("62.93"),
    )  # fmt: skip
    assert desk.rows("SELECT count(*) FROM deals WHERE trading_account_id = %s", aid) == [(1,)]

    desk.quote("BTCUSD", "62000.00", "62001.00")  # a gap: client bid 61999.99
    until(
        lambda: desk.rows("SELECT count(*) FROM deals WHERE trading_account_id = %s", aid) == [(2,)]
    )
    stop_out = next(e for e in _events(desk) if isinstance(e, c.StopOut))
    assert stop_out.position_id == opened.position_id
    loss = (Decimal("61999.99") - Decimal("64001.01")) * 10  # -20,010.20
    assert desk.rows(
        "SELECT reason, price, profit FROM deals WHERE trading_account_id = %s AND entry = 'OUT'",
        aid,
    ) == [("stop_out", Decimal("61999.99"), loss)]
    # the balance went to 10,000 - 20,010.20 = -10,010.20; flat and protected: written off
    until(lambda: desk.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid) == [(0,)])
    write_off = desk.rows(
        """SELECT e.amount FROM ledger_entries e
           JOIN ledger_accounts l ON l.id = e.ledger_account_id
           JOIN ledger_transfers t ON t.id = e.transfer_id
           WHERE l.trading_account_id = %s AND t.description LIKE 'write_off%%'""",
        aid,
    )
    # the trading account is credited 10,010.20: a negative entry (debits are positive)
    assert write_off == [(Decimal(10_000) + loss,)]
    assert desk.rows("SELECT status FROM positions WHERE id = %s", opened.position_id) == [
        ("CLOSED",)
    ]
