"""Swaps: the 17:00 New York cut across DST changes, the triple day, every swap mode."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from execution import contracts as c
from execution.rollover import next_cut, rollovers
from execution.samples import retail_group
from execution.testkit import Desk, accepted, of_type, sample_core

D = Decimal


def ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 1_000_000_000


def utc(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000_000, UTC)


def test_cut_moves_an_hour_in_utc_when_new_york_springs_forward() -> None:
    # 2026-03-08: EST (UTC-5) -> EDT (UTC-4)
    cuts = [(utc(at), day) for at, day in rollovers(ns(2026, 3, 5, 23), ns(2026, 3, 11))]
    assert cuts == [
        (datetime(2026, 3, 6, 22, tzinfo=UTC), 4),  # Friday 17:00 EST
        (datetime(2026, 3, 9, 21, tzinfo=UTC), 0),  # Monday 17:00 EDT; no weekend rollovers
        (datetime(2026, 3, 10, 21, tzinfo=UTC), 1),
    ]


def test_cut_moves_back_when_new_york_falls_back() -> None:
    # 2026-11-01: EDT -> EST
    cuts = [utc(at) for at, _ in rollovers(ns(2026, 10, 30, 12), ns(2026, 11, 3))]
    assert cuts == [datetime(2026, 10, 30, 21, tzinfo=UTC), datetime(2026, 11, 2, 22, tzinfo=UTC)]


def test_next_cut_is_strictly_after_now() -> None:
    assert utc(next_cut(ns(2026, 3, 4, 22))) == datetime(2026, 3, 5, 22, tzinfo=UTC)
    assert utc(next_cut(ns(2026, 3, 4, 21, 59))) == datetime(2026, 3, 4, 22, tzinfo=UTC)


@pytest.fixture
def desk() -> Desk:
    desk = Desk(sample_core(groups=[retail_group("g", markups={}, commissions={}, leverage=100)]))
    desk.core.add_account(1, "g", balance=D(100_000))
    for symbol, bid, ask in [
        ("EURUSD", "1.10000", "1.10002"),
        ("USDJPY", "150.000", "150.010"),
        ("XAUUSD", "2000.00", "2000.50"),
        ("AAPL", "190.50", "190.55"),
    ]:
        desk.quote(symbol, bid, ask)
    desk.timer()  # the clock starts Wednesday 2026-03-04 12:00 UTC
    return desk


def test_swap_modes_and_the_triple_day(desk: Desk) -> None:
    accepted(desk.place(1, "EURUSD", "buy", "1"))
    accepted(desk.place(1, "USDJPY", "sell", "1"))
    accepted(desk.place(1, "XAUUSD", "buy", "0.5"))
    accepted(desk.place(1, "AAPL", "buy", "100"))
    desk.at(datetime(2026, 3, 4, 21, 59, tzinfo=UTC))
    assert [r for r in desk.timer().journal if isinstance(r, c.PositionUpdate)] == []
    desk.at(datetime(2026, 3, 4, 22, tzinfo=UTC))  # Wednesday 17:00 New York
    wednesday = {r.symbol: r.swap for r in desk.timer().journal if isinstance(r, c.PositionUpdate)}
    assert wednesday == {
        # points: -7.5 x 0.00001 x 100,000 = -7.50 USD a day, tripled on Wednesday
        "EURUSD": D("-22.50"),
        # points in yen: -25 x 0.001 x 100,000 = -2,500 JPY / bid 150.000 = -16.67 USD a day
        "USDJPY": D("-50.00"),  # 3 x -2,500 = -7,500 JPY / 150 = -50.00
        # money per lot: -30 x 0.5 = -15.00, triple day for gold is Friday
        "XAUUSD": D("-15.00"),
        # interest: -5 % x 100 x 190.50 / 360 = -2.6458.. -> -2.65, tripled -7.94
        "AAPL": D("-7.94"),
    }
    desk.at(datetime(2026, 3, 6, 22, tzinfo=UTC))  # through Thursday and Friday
    friday = {r.symbol: r.swap for r in desk.timer().journal if isinstance(r, c.PositionUpdate)}
    assert friday["XAUUSD"] == D("-15.00") - D("15.00") - D("45.00")  # Thursday + triple Friday
    assert friday["EURUSD"] == D("-22.50") - D("7.50") - D("7.50")


def test_accrued_swap_is_realised_into_the_balance_on_close(desk: Desk) -> None:
    position = accepted(desk.place(1, "EURUSD", "buy", "1")).position_id or 0
    desk.at(datetime(2026, 3, 5, 22, tzinfo=UTC))  # Wednesday and Thursday cuts
    desk.timer()
    desk.quote("EURUSD", "1.10002", "1.10004")
    outcome = desk.close(1, position, "0.5")
    deal = of_type(outcome, c.Deal)[0]
    assert deal.swap == D("-15.00")  # half of -30.00
    assert of_type(outcome, c.PositionUpdate)[-1].swap == D("-15.00")
    assert [b.kind for b in of_type(outcome, c.BalanceChange)] == [c.BalanceKind.SWAP]
