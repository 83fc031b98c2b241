"""Swaps to the cent: the side of the price and of the conversion rate, a position opened at
the cut, a symbol without swap, the time a rollover is recorded, and the cut whatever the
host's time zone (tests written against the mutants mutmut left alive in
execution/rollover.py, see docs/testing.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from execution import contracts as c
from execution.core import Core, CoreConfig
from execution.records import Outcome
from execution.rollover import next_cut, rollovers
from execution.samples import instruments, retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.testkit import Desk, accepted, sample_core

D = Decimal
WEDNESDAY_CUT = datetime(2026, 3, 4, 22, tzinfo=UTC)  # 17:00 New York (EST); triple for FX


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


@pytest.fixture
def desk() -> Desk:
    desk = Desk(sample_core(groups=[retail_group("g", markups={}, commissions={}, leverage=100)]))
    desk.core.add_account(1, "g", balance=D(1_000_000))
    quote_all(desk)
    desk.timer()  # the clock starts Wednesday 2026-03-04 12:00 UTC
    return desk


def quote_all(desk: Desk) -> None:
    for symbol, bid, ask in [
        ("EURUSD", "1.10000", "1.10002"),
        ("EURUSD.nl", "1.10000", "1.10002"),
        ("USDJPY", "150.000", "150.010"),
        ("AAPL", "190.50", "190.55"),
    ]:
        desk.quote(symbol, bid, ask)


def swaps(outcome: Outcome) -> dict[str, Decimal]:
    return {r.symbol: r.swap for r in outcome.journal if isinstance(r, c.PositionUpdate)}


def test_swap_takes_the_price_and_rate_of_the_positions_side(desk: Desk) -> None:
    accepted(desk.place(1, "USDJPY", "buy", "10"))
    accepted(desk.place(1, "AAPL", "buy", "1000"))
    accepted(desk.place(1, "AAPL", "sell", "700"))
    desk.at(WEDNESDAY_CUT)
    journal = [r for r in desk.timer().journal if isinstance(r, c.PositionUpdate)]
    assert sorted((r.symbol, r.side, r.swap) for r in journal) == [
        # interest, tripled: -5 % x 3 x 1,000 x bid 190.50 / 100 / 360 = -79.375 -> -79.38
        ("AAPL", c.Side.BUY, D("-79.38")),
        # a sell is valued at the ask: -3 % x 3 x 700 x 190.55 / 36,000 = -33.346875 -> -33.35
        ("AAPL", c.Side.SELL, D("-33.35")),
        # 12 points x 3 x 0.001 x 100,000 x 10 = 36,000 JPY; a buy converts at the ask:
        # 36,000 / 150.010 = 239.984 -> 239.98 USD
        ("USDJPY", c.Side.BUY, D("239.98")),
    ]


def test_a_symbol_without_swap_accrues_nothing(desk: Desk) -> None:
    position = accepted(desk.place(1, "EURUSD.nl", "buy", "1")).position_id
    desk.at(WEDNESDAY_CUT)
    assert swaps(desk.timer()) == {}
    assert desk.core.ctx.accounts[1].positions[position or 0].swap == 0


def test_a_position_opened_at_the_cut_starts_accruing_at_the_next_one(desk: Desk) -> None:
    desk.at(WEDNESDAY_CUT)
    quote_all(desk)
    accepted(desk.place(1, "EURUSD", "buy", "1"))
    assert swaps(desk.timer()) == {}
    desk.at(datetime(2026, 3, 5, 22, tzinfo=UTC))  # Thursday: one day, -7.5 x 1 = -7.50
    assert swaps(desk.timer()) == {"EURUSD": D("-7.50")}


def test_a_late_timer_records_the_rollover_at_the_cut(desk: Desk) -> None:
    accepted(desk.place(1, "EURUSD", "buy", "1"))
    desk.at(datetime(2026, 3, 4, 22, 5, tzinfo=UTC))
    updates = [r for r in desk.timer().journal if isinstance(r, c.PositionUpdate)]
    assert [(r.swap, r.time) for r in updates] == [(D("-22.50"), ns(WEDNESDAY_CUT))]


@pytest.fixture
def tokyo_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is Tokyo's (UTC+9): a date ahead of New York's."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("tokyo_host")
def test_the_cut_does_not_depend_on_the_hosts_time_zone() -> None:
    # Wednesday 16:00 New York is Thursday 06:00 in Tokyo: the cut is still today's
    assert next_cut(ns(datetime(2026, 3, 4, 21, tzinfo=UTC))) == ns(WEDNESDAY_CUT)
    week = [day for _, day in rollovers(ns(datetime(2026, 3, 2, tzinfo=UTC)), ns(WEDNESDAY_CUT))]
    assert week == [0, 1, 2]  # Monday, Tuesday, Wednesday in New York
    friday = list(
        rollovers(ns(datetime(2026, 3, 6, 12, tzinfo=UTC)), ns(datetime(2026, 3, 9, tzinfo=UTC)))
    )
    assert friday == [(ns(datetime(2026, 3, 6, 22, tzinfo=UTC)), 4)]  # no weekend rollover


def test_every_position_opened_before_the_cut_accrues_whatever_the_snapshots_row_order() -> None:
    # a snapshot taken after Tuesday's cut; its rows come in no particular order
    tuesday_cut = ns(datetime(2026, 3, 3, 22, tzinfo=UTC))
    rows = [
        PositionRow(2, 1, "EURUSD", c.Side.BUY, D(1), D("1.10002"), opened_at=ns(WEDNESDAY_CUT)),
        PositionRow(1, 1, "EURUSD", c.Side.BUY, D(1), D("1.10002"), opened_at=tuesday_cut + 1),
    ]
    snapshot = Snapshot([AccountRow(1, "g", D(100_000))], rows, last_rollover=tuesday_cut)
    group = retail_group("g", markups={}, commissions={}, leverage=100)
    core = Core.from_snapshot(CoreConfig(instruments(), [group]), snapshot)
    desk = Desk(core, now=ns(WEDNESDAY_CUT) + 60_000_000_000)  # a minute after the cut
    desk.quote("EURUSD", "1.10000", "1.10002")
    updates = [r for r in desk.timer().journal if isinstance(r, c.PositionUpdate)]
    # only position 1 was open at the Wednesday cut: -7.5 x 3 = -22.50
    assert [(r.position_id, r.swap) for r in updates] == [(1, D("-22.50"))]
