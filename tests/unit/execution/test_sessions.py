"""Holidays close a market the way the weekend does: on a day of the instrument's calendar (a
date in its sessions' zone) orders and closes are refused MARKET_CLOSED and a triggered
pending order does not fill; the next trading day is open. The calendars are the seeded ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from execution import contracts as c
from execution.samples import instruments
from execution.sessions import TradingSessions
from execution.testkit import Desk, accepted, of_type, rejected, sample_core
from warehouse.holiday_calendars import calendar_days

D = Decimal


@pytest.fixture
def desk() -> Desk:
    fx = TradingSessions.forex(frozenset(calendar_days("FX", [2025, 2026])))
    cme = TradingSessions.forex(frozenset(calendar_days("CME", [2026])))
    sessions = {"EURUSD": fx, "XAUUSD": cme}
    book = [replace(i, sessions=sessions.get(i.symbol, i.sessions)) for i in instruments()]
    desk = Desk(sample_core(instruments=book))
    desk.core.add_account(1, "retail-usd", balance=D(100_000))
    return desk


def _order_at(desk: Desk, moment: datetime, symbol: str = "EURUSD") -> c.RejectCode | None:
    """An order at ``moment``: None when it fills, else the reject code."""
    desk.at(moment)
    if symbol == "EURUSD":
        desk.quote("EURUSD", "1.10000", "1.10002")
    else:
        desk.quote("XAUUSD", "2350.10", "2350.40")
    outcome = desk.place(1, symbol, "buy", "0.1")
    reply = outcome.replies[0]
    return None if isinstance(reply, c.Accepted) else rejected(outcome)


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        # New Year's Day 2026 is a Thursday, a full FX day but for the holiday; New York is
        # on EST (UTC-5), so its day runs from 05:00 UTC to 05:00 UTC the next morning.
        (datetime(2026, 1, 1, 4, 59, tzinfo=UTC), None),  # 31 Dec 23:59 in New York
        (datetime(2026, 1, 1, 5, 0, tzinfo=UTC), c.RejectCode.MARKET_CLOSED),
        (datetime(2026, 1, 1, 15, 0, tzinfo=UTC), c.RejectCode.MARKET_CLOSED),
        (datetime(2026, 1, 2, 4, 59, tzinfo=UTC), c.RejectCode.MARKET_CLOSED),  # 1 Jan 23:59
        (datetime(2026, 1, 2, 5, 0, tzinfo=UTC), None),  # Friday 2 Jan 00:00: open again
    ],
)
def test_new_years_day_closes_fx_for_the_new_york_day(
    desk: Desk, moment: datetime, code: c.RejectCode | None
) -> None:
    assert _order_at(desk, moment) is code


def test_good_friday_closes_gold_and_monday_trades(desk: Desk) -> None:
    # Easter Sunday 2026 is 5 April: CME is closed on Good Friday, 3 April (EDT, UTC-4)
    assert _order_at(desk, datetime(2026, 4, 2, 15, tzinfo=UTC), "XAUUSD") is None
    assert _order_at(desk, datetime(2026, 4, 3, 15, tzinfo=UTC), "XAUUSD") is (
        c.RejectCode.MARKET_CLOSED
    )
    assert _order_at(desk, datetime(2026, 4, 6, 13, tzinfo=UTC), "XAUUSD") is None
    # currencies trade on Good Friday
    assert _order_at(desk, datetime(2026, 4, 3, 15, tzinfo=UTC)) is None


def test_on_christmas_day_a_position_stays_open_and_a_triggered_order_does_not_fill(
    desk: Desk,
) -> None:
    desk.at(datetime(2025, 12, 24, 15, tzinfo=UTC))  # Wednesday: open
    desk.quote("EURUSD", "1.10000", "1.10002")
    position_id = accepted(desk.place(1, "EURUSD", "buy", "1")).position_id
    assert position_id is not None
    limit = desk.place(1, "EURUSD", "buy", "1", type=c.OrderType.LIMIT, price=D("1.09900"))
    order_id = accepted(limit).order_id

    desk.at(datetime(2025, 12, 25, 15, tzinfo=UTC))  # Thursday, Christmas Day
    triggered = desk.quote("EURUSD", "1.09800", "1.09802")  # the limit's price is reached
    closed = desk.close(1, position_id)

    assert of_type(triggered, c.Deal) == []
    updates = of_type(triggered, c.OrderUpdate)
    assert [(u.order_id, u.state, u.reason) for u in updates] == [
        (order_id, c.OrderState.CANCELED, c.RejectCode.MARKET_CLOSED)  # as on a Saturday
    ]
    assert rejected(closed) is c.RejectCode.MARKET_CLOSED
    assert position_id in desk.core.ctx.accounts[1].positions
