"""Pre-trade risk at its boundaries, as the mutation run asked: SL/TP and pending prices exactly
`stops_level` away, the pending-distance cap, the symbol's volumes after an order, the token
bucket, free margin exactly zero, and an account that cannot be valued."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution import contracts as c
from execution.contracts import OrderType, RejectCode, Side
from execution.core import Core
from execution.groups import AccountGroup, Accounting
from execution.instruments import CalcMode, Instrument
from execution.rates import Quote
from execution.risk import check_limits, check_pending_price, check_stops, take_token, volumes_after
from execution.routing import RouteAction, RoutingRule
from execution.samples import instruments, retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.state import Account, Position
from execution.testkit import Desk, accepted, of_type, rejected, sample_core

D = Decimal
NS = 1_000_000_000
LOT = 10_000
# SL/TP and pending prices at least 10 points from the market, pending at most 100 away
GAPPED = Instrument(
    "GAP", 3, D(1_000), "GAP", "USD", "USD", CalcMode.FOREX, stops_level=10,
    max_pending_distance=100,
)  # fmt: skip
UNGAPPED = Instrument("NOGAP", 3, D(1_000), "NOG", "USD", "USD", CalcMode.FOREX)
INVALID = RejectCode.INVALID_STOPS


@pytest.mark.parametrize(
    ("side", "sl", "tp", "code"),
    [
        (Side.BUY, 990, None, INVALID),  # SL exactly stops_level below: too close
        (Side.BUY, 989, None, None),
        (Side.BUY, 1, None, None),  # far, but a valid price
        (Side.BUY, 0, None, INVALID),  # no price
        (Side.BUY, None, 1_010, INVALID),  # TP exactly stops_level above
        (Side.BUY, None, 1_011, None),
        (Side.SELL, 1_010, None, INVALID),
        (Side.SELL, 1_011, None, None),
        (Side.SELL, None, 990, INVALID),
        (Side.SELL, None, 1, None),
        (Side.SELL, None, 0, INVALID),
        (Side.SELL, 0, None, INVALID),
    ],
)
def test_stops_at_the_stops_level(
    side: Side, sl: int | None, tp: int | None, code: RejectCode | None
) -> None:
    assert check_stops(GAPPED, side, 1_000, sl, tp) is code


QUOTE = Quote(1_000, 1_002, 0)  # bid 1.000 / ask 1.002


@pytest.mark.parametrize(
    ("instrument", "side", "kind", "price", "code"),
    [
        (GAPPED, Side.BUY, OrderType.LIMIT, 992, None),  # 10 below the ask
        (GAPPED, Side.BUY, OrderType.LIMIT, 993, RejectCode.INVALID_PRICE),  # 9 below
        (GAPPED, Side.BUY, OrderType.LIMIT, 997, RejectCode.INVALID_PRICE),  # 5 below
        (GAPPED, Side.BUY, OrderType.LIMIT, 902, None),  # 100 below: the cap itself
        (GAPPED, Side.BUY, OrderType.LIMIT, 901, RejectCode.INVALID_PRICE),
        (GAPPED, Side.BUY, OrderType.STOP, 1_012, None),  # 10 above the ask
        (GAPPED, Side.SELL, OrderType.LIMIT, 1_010, None),  # 10 above the bid
        (GAPPED, Side.SELL, OrderType.LIMIT, 1_009, RejectCode.INVALID_PRICE),
        (GAPPED, Side.SELL, OrderType.STOP, 990, None),  # 10 below the bid
        (UNGAPPED, Side.BUY, OrderType.LIMIT, 1_002, RejectCode.INVALID_PRICE),  # at market
        (UNGAPPED, Side.BUY, OrderType.LIMIT, 1_001, None),  # one point better
    ],
)
def test_pending_price_distance_from_the_sides_market(
    instrument: Instrument, side: Side, kind: OrderType, price: int, code: RejectCode | None
) -> None:
    assert check_pending_price(instrument, side, kind, price, QUOTE) is code


HEDGING = AccountGroup("h", currency="USD", accounting=Accounting.HEDGING)
NETTING = AccountGroup("n", currency="USD", accounting=Accounting.NETTING)
EURUSD = next(i for i in instruments() if i.symbol == "EURUSD")


def holding(group: AccountGroup, *positions: tuple[Side, int]) -> Account:
    account = Account(1, group)
    for pid, (side, units) in enumerate(positions, 1):
        account.add_position(Position(pid, 1, EURUSD, side, units, 110_000 * units, 0))
    return account


def test_volumes_after_an_order_on_an_empty_account() -> None:
    for group in (HEDGING, NETTING):
        assert volumes_after(holding(group), EURUSD, Side.BUY, LOT, None) == (LOT, 0)
        assert volumes_after(holding(group), EURUSD, Side.SELL, LOT, None) == (0, LOT)


def test_volumes_after_closing_part_of_a_hedged_position() -> None:
    account = holding(HEDGING, (Side.BUY, 3 * LOT), (Side.SELL, 2 * LOT))
    sell = account.positions[2]
    assert volumes_after(account, EURUSD, Side.BUY, LOT, sell) == (3 * LOT, LOT)
    buy = account.positions[1]
    assert volumes_after(account, EURUSD, Side.SELL, LOT, buy) == (2 * LOT, 2 * LOT)


def test_volumes_after_on_a_netting_position() -> None:
    short = holding(NETTING, (Side.SELL, 2 * LOT))
    assert volumes_after(short, EURUSD, Side.BUY, LOT, None) == (0, LOT)  # reduced
    assert volumes_after(short, EURUSD, Side.BUY, 2 * LOT, None) == (0, 0)  # flat
    assert volumes_after(short, EURUSD, Side.BUY, 3 * LOT, None) == (LOT, 0)  # reversed
    long = holding(NETTING, (Side.BUY, LOT))
    assert volumes_after(long, EURUSD, Side.SELL, LOT, None) == (0, 0)


def test_no_rate_limit_when_the_group_sets_none() -> None:
    account = Account(1, AccountGroup("free", orders_per_second=0))
    assert all(take_token(account, 0) for _ in range(100))


def test_token_bucket_refills_at_the_rate_to_the_nanosecond() -> None:
    account = Account(1, AccountGroup("slow", orders_per_second=1, order_burst=1))
    assert take_token(account, 0)
    assert not take_token(account, NS - 1)  # one nano-order short
    assert not take_token(account, NS - 1)  # and still so at the same instant
    assert take_token(account, NS)
    fast = Account(2, AccountGroup("fast", orders_per_second=2, order_burst=1))
    assert take_token(fast, 0)
    assert take_token(fast, NS // 2)  # two a second: one back after half a second


def test_group_exposure_cap() -> None:
    group = retail_group("g", max_group_net_volume=D(1))  # 1 lot
    core = sample_core(groups=[group])
    account = Account(1, group)
    ctx = core.ctx
    # nothing held by the group yet: exactly the cap is allowed, one step more is not
    assert check_limits(ctx, account, EURUSD, Side.BUY, LOT, True) is None
    assert check_limits(ctx, account, EURUSD, Side.BUY, LOT + 1, True) is RejectCode.LIMIT_EXPOSURE
    # over the cap already: an order leaving the same size on the other side is allowed
    ctx.group_net[("g", "EURUSD")] = 3 * LOT
    assert check_limits(ctx, account, EURUSD, Side.SELL, 6 * LOT, True) is None


def margin_desk(balance: str) -> Desk:
    group = retail_group("g", markups={}, commissions={})
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "g", balance=D(balance))
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def test_an_order_leaving_exactly_zero_free_margin_is_accepted() -> None:
    # 0.1 lot: margin 10,000 EUR / 30 x ask 1.10002 = 366.67 against the equity before the
    # fill: a balance of 366.67 leaves free margin 0.00, one cent less is short
    assert accepted(margin_desk("366.67").place(1, "EURUSD", "buy", "0.1"))
    assert rejected(margin_desk("366.66").place(1, "EURUSD", "buy", "0.1")) is (RejectCode.NO_MONEY)


def test_an_account_that_cannot_be_valued_may_close_but_not_open() -> None:
    # account 1 holds USDJPY, never priced since the restart, and a EURUSD buy and sell
    group = retail_group("g", markups={}, commissions={})
    # a rule by margin level: an account without a valuation has no level and is B-booked
    rules = [RoutingRule(RouteAction.A_BOOK, min_margin_level=D(100_000))]
    snapshot = Snapshot(
        accounts=[AccountRow(1, "g", D(10_000)), AccountRow(2, "g", D(10_000))],
        positions=[
            PositionRow(1, 1, "USDJPY", Side.BUY, D(1), D("150.000"), 0),
            PositionRow(2, 1, "EURUSD", Side.BUY, D(1), D("1.09000"), 0),
            PositionRow(3, 1, "EURUSD", Side.SELL, D(1), D("1.11000"), 0),
        ],
    )
    desk = Desk(Core.from_snapshot(sample_core(groups=[group], rules=rules).config, snapshot))
    desk.quote("EURUSD", "1.10000", "1.10002")
    accepted(desk.place(2, "EURUSD", "buy", "0.1"))  # another account trades meanwhile
    assert rejected(desk.place(1, "EURUSD", "buy", "0.1")) is RejectCode.OFF_QUOTES
    closed = desk.close(1, 2)
    assert accepted(closed).state is c.OrderState.FILLED
    # (bid 1.10000 - 1.09000) x 100,000 = 1,000.00 USD realised
    assert [d.profit for d in of_type(closed, c.Deal)] == [D("1000.00")]
    # the sell, alone on its side now: (1.11000 - ask 1.10002) x 100,000 = 998.00
    assert [d.profit for d in of_type(desk.close(1, 3), c.Deal)] == [D("998.00")]
    assert list(desk.core.ctx.accounts[1].positions) == [1]


def test_a_hedge_that_adds_no_margin_is_allowed_without_free_margin() -> None:
    # gold charged on its larger leg only: a sell against a larger buy adds no margin
    gold = Instrument(
        "GOLD", 2, D(100), "XAU", "USD", "USD", CalcMode.CFDLEVERAGE, hedged_larger_leg=True
    )
    group = retail_group("g", markups={}, commissions={})  # 30:1
    snapshot = Snapshot(
        accounts=[AccountRow(1, "g", D(6_000))],
        positions=[PositionRow(1, 1, "GOLD", Side.BUY, D(1), D("2000.00"), 0)],
    )
    config = sample_core(instruments=[*instruments(), gold], groups=[group]).config
    desk = Desk(Core.from_snapshot(config, snapshot))
    desk.quote("GOLD", "1995.00", "1995.40")
    # equity 6,000 - 500 = 5,500 < margin 100 oz x 1995.40 / 30 = 6,651.33: no free margin
    assert desk.core.account_state(1, desk.now).free_margin < 0
    assert accepted(desk.place(1, "GOLD", "sell", "0.5")).state is c.OrderState.FILLED
    assert rejected(desk.place(1, "GOLD", "buy", "0.01")) is RejectCode.NO_MONEY
