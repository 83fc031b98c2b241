"""Two LPs: one aggregated book, the best price wins the order, a disconnected LP's quotes
are withdrawn and its flow goes elsewhere."""

from __future__ import annotations

from decimal import Decimal

from execution import contracts as c
from execution.lpsim.behaviour import Behaviour
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import Stack, StackFactory, start

D = Decimal


def _buy(stack: Stack) -> tuple[str, c.Deal]:
    trading = stack.trading
    reply = trading.place("EURUSD", "buy", "0.2")
    assert isinstance(reply, c.Accepted), reply
    assert reply.order_id is not None
    assert trading.pump(lambda: trading.final_state(reply.order_id or 0) is not None)
    return trading.sent[-1].lp, trading.deals()[-1]


def test_best_price_then_failover_and_back(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha", "lp-beta"])
    alpha = stack.lps["lp-alpha"].simulator(Behaviour(spread_points=10), steady=True)
    beta = stack.lps["lp-beta"].simulator(Behaviour(spread_points=4), steady=True)
    start(stack, [alpha, beta], simulators)
    trading = stack.trading
    assert trading.pump(lambda: trading.core.ctx.pricing.raw["EURUSD"].ask_lp == "lp-beta")
    best = trading.core.ctx.pricing.raw["EURUSD"]
    assert (best.bid, best.ask) == (108498, 108502)  # both LPs' tightest sides: beta's

    lp, deal = _buy(stack)
    assert lp == "lp-beta"
    assert deal.price == D("1.08502") + D("0.00001")

    beta.behaviour.down = True
    beta.disconnect()
    assert trading.pump(lambda: trading.connected["lp-beta"] is False)
    assert trading.core.ctx.pricing.raw["EURUSD"].ask_lp == "lp-alpha"
    lp, deal = _buy(stack)
    assert lp == "lp-alpha"
    assert deal.price == D("1.08505") + D("0.00001")

    beta.behaviour.down = False
    assert trading.pump(lambda: trading.core.ctx.pricing.raw["EURUSD"].ask_lp == "lp-beta")
    lp, _ = _buy(stack)
    assert lp == "lp-beta"
    assert len(trading.deals()) == 3
