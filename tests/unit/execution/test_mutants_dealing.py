"""Dealing as the mutation run asked: which LP an order or hedge goes to and with what
volume, limit, FOK flag and time; fills reported in parts; malformed LP reports ignored; the
hedges in flight; an A-book close reducing its position."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution import contracts as c
from execution.groups import Accounting, Markup
from execution.instruments import CalcMode, Instrument
from execution.lp import InProcessLp, LpOrder, LpReport, Purpose, ReportStatus
from execution.records import Outcome
from execution.routing import RouteAction, RoutingRule
from execution.samples import instruments, retail_group
from execution.testkit import Desk, accepted, of_type, sample_core

D = Decimal
BUY, SELL = c.Side.BUY, c.Side.SELL


def two_lp_desk(*rules: RoutingRule, **config: object) -> Desk:
    """lp1 has the best bid (1.10000), lp2 the best ask (1.10002); a 2-point markup off the
    bid and 3 on the ask for EURUSD only."""
    markups = {"EURUSD": Markup(bid=2, ask=3)}
    group = retail_group("g", markups=markups, commissions={})
    desk = Desk(sample_core(groups=[group], rules=list(rules), **config), lps=("lp1", "lp2"))
    desk.core.add_account(1, "g", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10004", lp="lp1")
    desk.quote("EURUSD", "1.09999", "1.10002", lp="lp2")
    return desk


A_BOOK = RoutingRule(RouteAction.A_BOOK)


def test_a_book_by_group_and_symbol_goes_to_the_best_lp_for_the_side() -> None:
    rule = RoutingRule(RouteAction.A_BOOK, groups=frozenset({"g"}), symbols=frozenset({"EURUSD"}))
    desk = two_lp_desk(rule)
    bought = desk.place(1, "EURUSD", "buy", "1")
    sent = desk.lps["lp2"].sent[-1]  # the best ask
    assert (sent.side, sent.units, sent.purpose, sent.time) == (
        BUY,
        10_000,
        Purpose.CLIENT,
        desk.now,
    )
    deal = of_type(bought, c.Deal)[0]
    # lp2 fills at its ask 1.10002, the client pays 3 points markup on top
    assert (deal.side, deal.order_id, deal.price, deal.book) == (
        BUY, accepted(bought).order_id, D("1.10005"), "a",
    )  # fmt: skip
    sold = desk.place(1, "EURUSD", "sell", "1")
    assert desk.lps["lp1"].sent[-1].side is SELL  # the best bid
    # lp1 fills at its bid 1.10000, the client gets 2 points less
    assert of_type(sold, c.Deal)[0].price == D("1.09998")


def test_a_rules_lp_is_used_even_when_another_quotes_better() -> None:
    desk = two_lp_desk(RoutingRule(RouteAction.A_BOOK, lp="lp1"))
    desk.place(1, "EURUSD", "buy", "1")
    assert len(desk.lps["lp1"].sent) == 1
    assert desk.lps["lp2"].sent == []


def test_routing_by_margin_level() -> None:
    # accounts with margin in use and a level of at least 100 % go to the A-book
    desk = two_lp_desk(RoutingRule(RouteAction.A_BOOK, min_margin_level=D(100)))
    first = desk.place(1, "EURUSD", "buy", "1")
    assert of_type(first, c.Deal)[0].book == "b"  # no margin yet: no level
    second = desk.place(1, "EURUSD", "buy", "1")
    assert of_type(second, c.Deal)[0].book == "a"


def test_an_a_book_close_reduces_the_position() -> None:
    desk = two_lp_desk(A_BOOK)
    desk.place(1, "EURUSD", "buy", "1")
    [position] = desk.core.ctx.accounts[1].positions
    closed = desk.close(1, position)
    deal = of_type(closed, c.Deal)[0]
    # closed at lp1's bid 1.10000 less 2 points: (1.09998 - 1.10005) x 100,000 = -7.00
    assert (deal.position_id, deal.entry, deal.profit) == (position, c.DealEntry.OUT, D("-7.00"))
    assert desk.core.ctx.accounts[1].positions == {}


class SplitLp(InProcessLp):
    """Fills every order in two halves, reported one after the other."""

    def send(self, order: LpOrder) -> None:
        self.sent.append(order)
        bid, ask = self.prices[order.symbol]
        px = ask if order.side is BUY else bid
        half = order.volume / 2
        for _ in range(2):
            self._reports.append(LpReport(order.cl_ord_id, ReportStatus.FILL, px, half))


def test_a_fill_reported_in_two_parts_fills_one_position_and_finishes_the_order() -> None:
    desk = two_lp_desk(A_BOOK)
    desk.lps["lp2"] = SplitLp("lp2")
    desk.lps["lp2"].quote("EURUSD", D("1.09999"), D("1.10002"))
    outcome = desk.place(1, "EURUSD", "buy", "1")
    updates = of_type(outcome, c.OrderUpdate)
    assert [(u.state, u.filled, u.time) for u in updates] == [
        (c.OrderState.PARTIALLY_FILLED, D("0.5"), desk.now),
        (c.OrderState.FILLED, D(1), desk.now),
    ]
    positions = desk.core.ctx.accounts[1].positions
    assert [p.units for p in positions.values()] == [10_000]
    assert desk.core.ctx.lp_orders == {}


def test_a_fok_order_the_lp_cannot_fill_whole_is_rejected_whole() -> None:
    desk = two_lp_desk(A_BOOK)
    desk.lps["lp2"].fill_ratio = D("0.5")
    outcome = desk.place(1, "EURUSD", "buy", "1", tif=c.TimeInForce.FOK)
    assert desk.lps["lp2"].sent[-1].fok
    update = of_type(outcome, c.OrderUpdate)[-1]
    assert (update.state, update.filled, update.time) == (c.OrderState.REJECTED, D(0), desk.now)
    assert desk.core.ctx.accounts[1].positions == {}


def routed(desk: Desk) -> LpOrder:
    """An A-book buy of 1 lot sent, its LP not answered yet."""
    outcome = desk.core.handle(
        c.PlaceOrder(request_id="x", account_id=1, symbol="EURUSD", side=BUY, volume=D(1)),
        desk.now,
    )
    [lp_order] = outcome.lp_orders
    return lp_order


def report(desk: Desk, lp_order: LpOrder, px: str | None, qty: str) -> Outcome:
    price = None if px is None else D(px)
    fill = LpReport(lp_order.cl_ord_id, ReportStatus.FILL, price, D(qty))
    return desk.core.on_lp_report(fill, desk.now)


@pytest.mark.parametrize(
    ("px", "qty"),
    [
        (None, "1"),  # no price
        ("1.10002", "0"),  # nothing filled
        ("1.10002", "0.00005"),  # not a volume
        ("1.10002", "NaN"),
        ("1.10002", "1.0001"),  # more than the order
        ("0", "1"),
        ("-1.10002", "1"),
        ("Infinity", "1"),
    ],
)
def test_a_malformed_fill_report_changes_nothing(px: str | None, qty: str) -> None:
    desk = two_lp_desk(A_BOOK)
    lp_order = routed(desk)
    assert report(desk, lp_order, px, qty).events == []
    assert desk.core.ctx.accounts[1].positions == {}
    # the order is still working: a proper fill is taken
    assert of_type(report(desk, lp_order, "1.10002", "1"), c.Deal)


def test_an_over_fill_after_a_part_is_ignored_and_a_fill_finer_than_the_grid_rounds() -> None:
    desk = two_lp_desk(A_BOOK)
    lp_order = routed(desk)
    # 1.100015 rounds half up to 1.10002; the client pays 1.10005
    first = report(desk, lp_order, "1.100015", "0.6")
    assert [(d.volume, d.price) for d in of_type(first, c.Deal)] == [(D("0.6"), D("1.10005"))]
    assert report(desk, lp_order, "1.10002", "0.5").events == []  # 1.1 lots of 1
    assert of_type(report(desk, lp_order, "1.10002", "0.4"), c.Deal)
    assert desk.core.ctx.lp_orders == {}


def test_hedges_in_flight_count_against_the_excess() -> None:
    desk = two_lp_desk(hedge_thresholds={"EURUSD": D(1)})
    core = desk.core

    def place(side: c.Side, lots: str) -> list[LpOrder]:
        command = c.PlaceOrder(
            request_id=desk.request_id(), account_id=1, symbol="EURUSD", side=side,
            volume=D(lots),
        )  # fmt: skip
        return core.handle(command, desk.now).lp_orders  # the LPs do not answer yet

    [hedge] = place(BUY, "2")  # 2 lots net long, 1 over the threshold
    # a buy hedge goes to the best ask (lp2), at this time
    assert (hedge.lp, hedge.side, hedge.units, hedge.time) == ("lp2", BUY, 10_000, desk.now)
    [more] = place(BUY, "0.5")  # 2.5 long, 1 hedging: 0.5 over
    assert (more.side, more.units) == (BUY, 5_000)
    assert more.cl_ord_id != hedge.cl_ord_id
    assert core.ctx.hedging_in_flight["EURUSD"] == 15_000
    assert place(SELL, "1.5") == []  # 1.0 long, 1.5 hedging: -0.5, under the threshold
    [short] = place(SELL, "2")  # -1.0 long, 1.5 hedging: -2.5 uncovered, 1.5 over
    assert (short.lp, short.side, short.units) == ("lp1", SELL, 15_000)  # the best bid
    assert core.ctx.hedging_in_flight["EURUSD"] == 0


def test_exposure_exactly_at_the_threshold_is_not_hedged_and_the_excess_rounds_down() -> None:
    desk = two_lp_desk(hedge_thresholds={"EURUSD": D(1)})
    desk.place(1, "EURUSD", "buy", "1")  # exactly the threshold: nothing over
    assert desk.lps["lp1"].sent == desk.lps["lp2"].sent == []
    desk = two_lp_desk(hedge_thresholds={"EURUSD": D("1.005")})
    desk.place(1, "EURUSD", "buy", "2")  # 0.995 over: 0.99 in 0.01-lot steps
    assert [o.units for o in desk.lps["lp2"].sent] == [9_900]


def test_a_hedge_partly_filled_then_canceled_is_no_longer_in_flight() -> None:
    desk = two_lp_desk(hedge_thresholds={"EURUSD": D(1)})
    desk.lps["lp2"].fill_ratio = D("0.5")
    desk.place(1, "EURUSD", "buy", "2")  # 1 lot hedged: 0.5 filled, the rest canceled
    ctx = desk.core.ctx
    assert (ctx.hedged["EURUSD"], ctx.hedging_in_flight["EURUSD"]) == (5_000, 0)
    desk.lps["lp2"].fill_ratio = D(1)
    desk.place(1, "EURUSD", "buy", "0.01")  # 2.01 long, 0.5 hedged: 0.51 over
    assert desk.lps["lp2"].sent[-1].units == 5_100


def test_partial_routing_hedges_its_ratio_in_volume_steps_at_the_best_lp() -> None:
    desk = two_lp_desk(RoutingRule(RouteAction.PARTIAL, hedge_ratio=D("0.3")))
    desk.place(1, "EURUSD", "buy", "0.15")  # 30 % = 0.045 lot: 0.04 in 0.01-lot steps
    [hedge] = desk.lps["lp2"].sent  # the best ask
    assert (hedge.purpose, hedge.side, hedge.units, hedge.time) == (
        Purpose.HEDGE, BUY, 400, desk.now,
    )  # fmt: skip
    desk.place(1, "EURUSD", "buy", "0.01")  # 30 % of 0.01 lot is under one step: no hedge
    assert len(desk.lps["lp2"].sent) == 1


def test_partial_routing_to_a_named_lp_and_b_book_never_hedges() -> None:
    desk = two_lp_desk(
        RoutingRule(RouteAction.B_BOOK, hedge_ratio=D("0.5"), symbols=frozenset({"USDJPY"})),
        RoutingRule(RouteAction.PARTIAL, hedge_ratio=D("0.5"), lp="lp1"),
    )
    desk.place(1, "EURUSD", "buy", "1")
    assert [o.units for o in desk.lps["lp1"].sent] == [5_000]
    desk.quote("USDJPY", "150.000", "150.010", lp="lp1")
    desk.place(1, "USDJPY", "buy", "1")
    assert [o.symbol for o in desk.lps["lp1"].sent] == ["EURUSD"]


def test_an_a_book_netting_reversal_keeps_the_rest_on_the_a_book() -> None:
    group = retail_group("n", accounting=Accounting.NETTING, markups={}, commissions={})
    desk = Desk(sample_core(groups=[group], rules=[A_BOOK]))
    desk.core.add_account(1, "n", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.place(1, "EURUSD", "buy", "1")
    reversal = of_type(desk.place(1, "EURUSD", "sell", "1.5"), c.Deal)[0]
    assert (reversal.entry, reversal.book) == (c.DealEntry.INOUT, "a")
    # the 0.5 lot short left is an A-book position: closing it is an A-book deal too
    [position] = desk.core.ctx.accounts[1].positions
    assert of_type(desk.close(1, position), c.Deal)[0].book == "a"


def test_a_triggered_a_book_limit_is_limited_by_the_symbols_own_markup() -> None:
    desk = two_lp_desk(A_BOOK)
    placed = desk.place(1, "EURUSD", "buy", "1", type=c.OrderType.LIMIT, price=D("1.10000"))
    assert accepted(placed).state is c.OrderState.PLACED  # client ask 1.10005
    desk.quote("EURUSD", "1.09992", "1.09999", lp="lp1")  # client ask 1.10002: not yet
    # lp2's ask 1.09997 + 3 points = 1.10000: the limit is reached; the LP may fill no
    # worse than 1.09997, the limit less the 3 points EURUSD's markup adds
    outcome = desk.quote("EURUSD", "1.09991", "1.09997", lp="lp2")
    assert desk.lps["lp2"].sent[-1].limit_price == D("1.09997")
    assert of_type(outcome, c.Deal)[0].price == D("1.10000")


def test_the_smallest_volume_an_lp_may_fill_is_taken() -> None:
    desk = two_lp_desk(A_BOOK)
    deals = of_type(report(desk, routed(desk), "1.10002", "0.0001"), c.Deal)
    assert [d.volume for d in deals] == [D("0.0001")]


def test_an_lp_fill_below_one_is_a_price() -> None:
    pound = Instrument("EURGBP", 5, D(100_000), "EUR", "GBP", "EUR", CalcMode.FOREX)
    group = retail_group("gbp", currency="GBP", markups={}, commissions={})
    desk = Desk(sample_core(instruments=[*instruments(), pound], groups=[group], rules=[A_BOOK]))
    desk.core.add_account(1, "gbp", balance=D(100_000))
    desk.quote("EURGBP", "0.85000", "0.85002")
    outcome = desk.place(1, "EURGBP", "buy", "1")
    assert [d.price for d in of_type(outcome, c.Deal)] == [D("0.85002")]
