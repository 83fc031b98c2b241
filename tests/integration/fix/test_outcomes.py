"""Partial fills, rejects and last-look rejects reach the client as the right outcome."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import pytest

from execution import contracts as c
from execution.lpsim.behaviour import Behaviour, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import Stack, StackFactory, start

D = Decimal


def _run(stack: Stack, sim: LpSimulator, running: list[LpSimulator], **order: str) -> c.OrderUpdate:
    start(stack, [sim], running)
    trading = stack.trading
    reply = trading.place("EURUSD", order.get("side", "buy"), order.get("lots", "1"),
                          tif=c.TimeInForce(order.get("tif", "ioc")))  # fmt: skip
    assert isinstance(reply, c.Accepted), reply
    assert reply.order_id is not None
    order_id = reply.order_id
    assert trading.pump(lambda: trading.final_state(order_id) is not None)
    final = trading.final_state(order_id)
    assert final is not None
    return final


def test_partial_fill_fills_the_client_in_part_and_cancels_the_rest(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(
        Behaviour(plan=deque([Outcome.PARTIAL]), partial_fraction=D("0.3"))
    )
    final = _run(stack, sim, simulators, lots="1")
    assert final.state is c.OrderState.CANCELED
    assert final.filled == D("0.3")
    [deal] = stack.trading.deals()
    assert deal.volume == D("0.3")
    partial = [u for u in stack.trading.order_updates() if u.state is c.OrderState.PARTIALLY_FILLED]
    assert partial
    assert partial[0].filled == D("0.3")


def test_fok_order_partially_available_is_rejected_whole(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.PARTIAL])))
    final = _run(stack, sim, simulators, tif="fok")
    assert final.state is c.OrderState.REJECTED
    assert final.reason is c.RejectCode.LP_REJECTED
    assert stack.trading.deals() == []


@pytest.mark.parametrize("outcome", [Outcome.REJECT, Outcome.LAST_LOOK])
def test_lp_reject_and_last_look_reject_the_client_order(
    stack_factory: StackFactory,
    simulators: list[LpSimulator],
    outcome: Outcome,
) -> None:
    stack = stack_factory(["lp-alpha"])
    latency = 0.2 if outcome is Outcome.LAST_LOOK else 0.0
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([outcome]), latency=latency))
    final = _run(stack, sim, simulators, side="sell")
    assert final.state is c.OrderState.REJECTED
    assert final.reason is c.RejectCode.LP_REJECTED
    assert final.filled == 0
    assert stack.trading.deals() == []
    account = stack.trading.core.ctx.accounts[1]
    assert not account.positions
    assert not account.orders
