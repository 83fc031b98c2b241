"""Routing rules, A-book through the LP gateway, partial hedge, B-book exposure and hedger."""

from __future__ import annotations

from decimal import Decimal

from execution import contracts as c
from execution.groups import Markup
from execution.lp import InProcessLp, Purpose
from execution.routing import RouteAction, RouteRequest, RoutingRule, route
from execution.samples import retail_group
from execution.testkit import Desk, accepted, of_type, rejected, sample_core

D = Decimal


def request(**fields: object) -> RouteRequest:
    base: dict[str, object] = {
        "group": "retail", "account_id": 1, "symbol": "EURUSD", "symbol_group": "forex.major",
        "units": 10_000, "toxicity": 0, "margin_level": None,
    }  # fmt: skip
    base.update(fields)
    return RouteRequest(**base)  # type: ignore[arg-type]


def test_first_matching_rule_wins() -> None:
    rules = [
        RoutingRule(RouteAction.REJECT, symbols=frozenset({"BTCUSD"}), name="no crypto"),
        RoutingRule(RouteAction.A_BOOK, min_toxicity=70, name="toxic"),
        RoutingRule(RouteAction.A_BOOK, min_volume=D(10), name="large"),
        RoutingRule(
            RouteAction.PARTIAL, groups=frozenset({"retail"}), hedge_ratio=D("0.3"), name="retail"
        ),
    ]
    assert route(rules, request(symbol="BTCUSD", toxicity=90)).name == "no crypto"
    assert route(rules, request(toxicity=80)).name == "toxic"
    assert route(rules, request(units=100_000)).name == "large"
    assert route(rules, request()).name == "retail"
    assert route(rules, request(group="pro")).action is RouteAction.B_BOOK  # default


def test_margin_level_bounds() -> None:
    rule = RoutingRule(RouteAction.A_BOOK, max_margin_level=D(200))
    assert rule.matches(request(margin_level=D(150)))
    assert not rule.matches(request(margin_level=D(250)))
    assert not RoutingRule(RouteAction.A_BOOK, min_margin_level=D(100)).matches(request())


def a_book_desk(**config: object) -> Desk:
    group = retail_group("g", markups={"*": Markup(bid=2, ask=3)}, commissions={})
    rules = [RoutingRule(RouteAction.A_BOOK, accounts=frozenset({1}))]
    desk = Desk(sample_core(groups=[group], rules=rules, **config), lps=("lp1", "lp2"))
    desk.core.add_account(1, "g", balance=D(100_000))
    desk.core.add_account(2, "g", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10004", lp="lp1")
    desk.quote("EURUSD", "1.09999", "1.10002", lp="lp2")
    return desk


def test_a_book_fills_the_client_only_on_the_lp_fill_at_lp_price_plus_markup() -> None:
    desk = a_book_desk()
    desk.lps["lp2"].quote("EURUSD", D("1.09999"), D("1.10001"))  # the LP fills 1 point better
    outcome = desk.place(1, "EURUSD", "buy", "1")
    assert accepted(outcome).state is c.OrderState.ROUTED
    sent = desk.lps["lp2"].sent[0]  # best ask is at lp2
    assert (sent.purpose, sent.units, sent.symbol) == (Purpose.CLIENT, 10_000, "EURUSD")
    assert outcome.journal.index(sent) < next(
        i for i, r in enumerate(outcome.journal) if isinstance(r, c.Deal)
    )
    deal = of_type(outcome, c.Deal)[0]
    assert (deal.price, deal.book) == (D("1.10004"), "a")  # 1.10001 + 3 points markup
    assert of_type(outcome, c.OrderUpdate)[-1].state is c.OrderState.FILLED


def test_lp_reject_rejects_the_client_order_and_partial_fill_cancels_the_rest() -> None:
    desk = a_book_desk()
    desk.lps["lp2"].reject_next = True
    outcome = desk.place(1, "EURUSD", "buy", "1")
    update = of_type(outcome, c.OrderUpdate)[-1]
    assert (update.state, update.reason) == (c.OrderState.REJECTED, c.RejectCode.LP_REJECTED)
    assert desk.core.ctx.accounts[1].positions == {}

    desk.lps["lp2"].fill_ratio = D("0.5")
    outcome = desk.place(1, "EURUSD", "buy", "1")
    updates = of_type(outcome, c.OrderUpdate)
    assert [(u.state, u.filled) for u in updates] == [
        (c.OrderState.PARTIALLY_FILLED, D("0.5")),
        (c.OrderState.CANCELED, D("0.5")),
    ]
    assert [p.units for p in desk.core.ctx.accounts[1].positions.values()] == [5_000]


def test_duplicate_lp_reports_change_nothing() -> None:
    desk = a_book_desk()
    outcome = desk.core.handle(
        c.PlaceOrder(request_id="a", account_id=1, symbol="EURUSD", side=c.Side.BUY, volume=D(1)),
        desk.now,
    )
    lp_order = outcome.lp_orders[0]
    desk.lps[lp_order.lp].send(lp_order)
    report = desk.lps[lp_order.lp].drain()[0]
    assert of_type(desk.core.on_lp_report(report, desk.now), c.Deal)
    assert desk.core.on_lp_report(report, desk.now).events == []


def test_partial_rule_fills_internally_and_hedges_the_ratio() -> None:
    rules = [RoutingRule(RouteAction.PARTIAL, hedge_ratio=D("0.3"), lp="lp1")]
    desk = Desk(sample_core(rules=rules))
    desk.core.add_account(1, "pro-usd", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    outcome = desk.place(1, "EURUSD", "buy", "2")
    assert of_type(outcome, c.Deal)[0].book == "b"
    hedge = desk.lps["lp1"].sent[0]
    assert (hedge.purpose, hedge.side, hedge.units) == (Purpose.HEDGE, c.Side.BUY, 6_000)
    assert desk.core.ctx.hedged["EURUSD"] == 6_000


def test_reject_rule() -> None:
    desk = Desk(
        sample_core(
            rules=[RoutingRule(RouteAction.REJECT, symbol_groups=frozenset({"forex.major"}))]
        )
    )
    desk.core.add_account(1, "pro-usd", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    assert rejected(desk.place(1, "EURUSD", "buy", "1")) is c.RejectCode.ROUTING_REJECTED


def test_hedger_sends_the_excess_over_the_threshold() -> None:
    desk = Desk(sample_core(hedge_thresholds={"EURUSD": D(2)}))
    for account in (1, 2):
        desk.core.add_account(account, "pro-usd", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.place(1, "EURUSD", "buy", "1.5")
    assert desk.lps["lp1"].sent == []  # 1.5 lots net: under the threshold
    desk.place(2, "EURUSD", "sell", "0.5")
    desk.place(2, "EURUSD", "buy", "2.25")  # net 3.25 lots long: 1.25 over
    hedge = desk.lps["lp1"].sent[-1]
    assert (hedge.purpose, hedge.side, hedge.units) == (Purpose.HEDGE, c.Side.BUY, 12_500)
    ctx = desk.core.ctx
    assert ctx.client_net["EURUSD"] - ctx.hedged["EURUSD"] == 20_000
    desk.place(1, "EURUSD", "sell", "5")  # clients net -1.75, hedged +1.25: -3.0 uncovered
    hedge = desk.lps["lp1"].sent[-1]
    assert (hedge.side, hedge.units) == (c.Side.SELL, 10_000)  # 1.0 lot over the threshold
    assert ctx.client_net["EURUSD"] - ctx.hedged["EURUSD"] == -20_000


def test_toxicity_score_set_by_the_shell_routes_the_account_to_the_a_book() -> None:
    rules = [RoutingRule(RouteAction.A_BOOK, min_toxicity=70)]
    desk = Desk(sample_core(rules=rules))
    desk.core.add_account(1, "pro-usd", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    assert of_type(desk.place(1, "EURUSD", "buy", "1"), c.Deal)[0].book == "b"
    desk.core.set_toxicity(1, 80)
    assert of_type(desk.place(1, "EURUSD", "buy", "1"), c.Deal)[0].book == "a"


class SlippingLp(InProcessLp):
    """Deals one point worse than it streams (the price moved before it filled)."""

    def quote(self, symbol: str, bid: Decimal, ask: Decimal) -> None:
        self.prices[symbol] = (bid - D("0.00001"), ask + D("0.00001"))


def test_a_triggered_a_book_limit_goes_to_the_lp_limited_so_the_client_never_pays_more() -> None:
    desk = a_book_desk()  # markup 2 points off the bid, 3 on the ask
    placed = desk.place(1, "EURUSD", "buy", "1", type=c.OrderType.LIMIT, price=D("1.09990"))
    assert accepted(placed).state is c.OrderState.PLACED  # client ask 1.10005: it rests
    desk.lps["lp2"] = SlippingLp("lp2")
    desk.quote("EURUSD", "1.09980", "1.09990", lp="lp1")
    # the client ask reaches the limit at lp2's 1.09987 + 3 points: the order goes to lp2
    # limited to 1.09987, the limit less the 3 points the client pays on top
    outcome = desk.quote("EURUSD", "1.09980", "1.09987", lp="lp2")
    sent = desk.lps["lp2"].sent[-1]
    assert sent.limit_price == D("1.09987")
    # lp2 would deal at 1.09988, over the limit: nothing is filled, the order is cancelled
    assert of_type(outcome, c.Deal) == []
    assert of_type(outcome, c.OrderUpdate)[-1].state is c.OrderState.CANCELED
    assert desk.core.ctx.accounts[1].positions == {}

    # a sell stop at 1.09900: the LP limit is the stop price plus the 2 points off the bid
    desk.place(1, "EURUSD", "sell", "1", type=c.OrderType.STOP, price=D("1.09900"))
    desk.quote("EURUSD", "1.09902", "1.09910", lp="lp2")
    outcome = desk.quote("EURUSD", "1.09902", "1.09906", lp="lp1")  # client bid 1.09900
    assert desk.lps["lp1"].sent[-1].limit_price == D("1.09902")
    deal = of_type(outcome, c.Deal)[0]
    assert deal.price == D("1.09900")  # LP 1.09902 less the markup: the stop price, no worse


def test_a_market_a_book_order_goes_to_the_lp_without_a_limit() -> None:
    desk = a_book_desk()
    desk.place(1, "EURUSD", "buy", "1")
    assert desk.lps["lp2"].sent[-1].limit_price is None


def test_requote_rule_refuses_with_the_current_price() -> None:
    rules = [RoutingRule(RouteAction.REQUOTE, min_volume=D(5))]
    desk = Desk(sample_core(rules=rules))
    desk.core.add_account(1, "pro-usd", balance=D(1_000_000))  # 1 point markup a side
    desk.quote("EURUSD", "1.10000", "1.10002")
    reply = desk.place(1, "EURUSD", "buy", "5")
    assert reply.replies == [
        c.Rejected(
            request_id="r1",
            code=c.RejectCode.REQUOTE,
            message="the price moved: here is the current one",
            bid=D("1.09999"),
            ask=D("1.10003"),
        )
    ]
    assert of_type(reply, c.Deal) == []
    assert accepted(desk.place(1, "EURUSD", "buy", "1")).state is c.OrderState.FILLED


def test_rule_bounds_are_inclusive() -> None:
    rule = RoutingRule(
        RouteAction.A_BOOK, min_volume=D(1), max_volume=D(5), min_toxicity=50, max_toxicity=80
    )
    assert rule.matches(request(units=10_000, toxicity=50))
    assert rule.matches(request(units=50_000, toxicity=80))
    assert not rule.matches(request(units=9_999, toxicity=60))
    assert not rule.matches(request(units=50_001, toxicity=60))
    assert not rule.matches(request(units=20_000, toxicity=49))
    assert not rule.matches(request(units=20_000, toxicity=81))
    levels = RoutingRule(RouteAction.A_BOOK, min_margin_level=D(100), max_margin_level=D(200))
    assert levels.matches(request(margin_level=D(100)))
    assert levels.matches(request(margin_level=D(200)))
    assert not levels.matches(request(margin_level=D("99.99")))
    assert not levels.matches(request(margin_level=D("200.01")))


def test_routing_by_account_group_and_symbol_group() -> None:
    rules = [
        RoutingRule(RouteAction.A_BOOK, accounts=frozenset({7}), name="vip"),
        RoutingRule(RouteAction.REJECT, symbol_groups=frozenset({"crypto"}), name="crypto"),
        RoutingRule(RouteAction.PARTIAL, groups=frozenset({"pro"}), name="pro"),
    ]
    assert route(rules, request(account_id=7, symbol_group="crypto")).name == "vip"
    assert route(rules, request(symbol_group="crypto", group="pro")).name == "crypto"
    assert route(rules, request(group="pro")).name == "pro"
    assert route(rules, request(group="retail")).name == "default"
