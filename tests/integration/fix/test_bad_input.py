"""Malformed or unexpected messages from an LP are rejected or logged with a reason; the
bridge keeps running and no client is filled wrongly."""

from __future__ import annotations

import logging
from collections import deque
from decimal import Decimal

import pytest
import quickfix as fix

from execution import contracts as c
from execution.fix import wire
from execution.fix.config import Role
from execution.lpsim.behaviour import Behaviour, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import Stack, StackFactory, start, wait_for

D = Decimal


def _report(
    cl_ord_id: str, exec_id: str, cum: str, last: str, px: str, **extra: str
) -> list[tuple[int, str]]:
    return [
        (wire.ORDER_ID, "X1"), (wire.CL_ORD_ID, cl_ord_id), (wire.EXEC_ID, exec_id),
        (wire.EXEC_TYPE, "F"), (wire.ORD_STATUS, "2" if cum == "1" else "1"),
        (wire.SYMBOL, "EURUSD"), (wire.SIDE, "1"), (wire.LEAVES_QTY, "0"),
        (wire.CUM_QTY, cum), (wire.AVG_PX, px), (wire.LAST_PX, extra.get("last_px", px)),
        (wire.LAST_QTY, last),
    ]  # fmt: skip


def _place(stack: Stack) -> tuple[int, str]:
    reply = stack.trading.place("EURUSD", "buy", "1")
    assert isinstance(reply, c.Accepted), reply
    assert reply.order_id is not None
    return reply.order_id, stack.trading.sent[-1].cl_ord_id


def _still_trading(stack: Stack) -> None:
    """The bridge survived: a fresh order is filled normally."""
    order_id, _ = _place(stack)
    trading = stack.trading
    assert trading.pump(lambda: trading.final_state(order_id) is not None)
    final = trading.final_state(order_id)
    assert final is not None
    assert final.state is c.OrderState.FILLED


@pytest.fixture
def held(stack_factory: StackFactory, simulators: list[LpSimulator]) -> tuple[Stack, LpSimulator]:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.HOLD])))
    start(stack, [sim], simulators)
    return stack, sim


def test_unknown_symbol_quote_and_unknown_order_fill_are_logged(
    held: tuple[Stack, LpSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    stack, sim = held
    caplog.set_level(logging.WARNING)
    quote = wire.message("X", [(wire.MD_REQ_ID, "r")])
    group = fix.Group(wire.NO_MD_ENTRIES, wire.MD_UPDATE_ACTION)
    for tag, value in ((279, "1"), (269, "0"), (55, "NOSUCH"), (270, "1.5")):
        group.setField(tag, value)
    quote.addGroup(group)
    assert sim.send(Role.QUOTE, quote)
    assert sim.send(Role.TRADE, wire.message("8", _report("bs-ghost", "g1", "1", "1", "1.1")))
    assert wait_for(lambda: "unknown symbol 'NOSUCH'" in caplog.text)
    assert wait_for(lambda: "unknown ClOrdID 'bs-ghost'" in caplog.text)
    stack.trading.pump_for(0.2)
    assert stack.trading.deals() == []
    sim.behaviour.plan.clear()
    _still_trading(stack)


def test_duplicate_and_out_of_order_reports_fill_once(
    held: tuple[Stack, LpSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    stack, sim = held
    caplog.set_level(logging.WARNING)
    order_id, cl_ord_id = _place(stack)
    assert wait_for(lambda: cl_ord_id in sim.received.orders)
    second = _report(cl_ord_id, "e2", "1", "0.5", "1.08510", last_px="1.08520")
    first = _report(cl_ord_id, "e1", "0.5", "0.5", "1.08500")
    for values in (second, second, first):  # the second fill, again, then the first
        assert sim.send(Role.TRADE, wire.message("8", values))
    trading = stack.trading
    assert trading.pump(lambda: trading.final_state(order_id) is not None)
    trading.pump_for(0.3)
    [deal] = trading.deals()
    # one fill of the whole lot at the LP's average price (plus markup)
    assert (deal.volume, deal.price) == (D(1), D("1.08511"))
    assert "duplicate ExecID e2" in caplog.text
    assert "out of order" in caplog.text
    _still_trading(stack)


def test_garbage_field_is_rejected_at_session_level(held: tuple[Stack, LpSimulator]) -> None:
    stack, sim = held
    order_id, cl_ord_id = _place(stack)
    assert wait_for(lambda: cl_ord_id in sim.received.orders)
    garbage = _report(cl_ord_id, "bad1", "1", "1", "abc")
    assert sim.send(Role.TRADE, wire.message("8", garbage))
    assert wait_for(lambda: any(r.get(wire.REF_TAG_ID) for r in sim.received.rejects))
    reject = sim.received.rejects[-1]
    assert reject.get(wire.REF_MSG_TYPE) == "8"
    assert wire.SESSION_REJECT_REASON in reject
    stack.trading.pump_for(0.2)
    assert stack.trading.final_state(order_id) is None  # still working, not filled on garbage
    sim.release()
    trading = stack.trading
    assert trading.pump(lambda: trading.final_state(order_id) is not None)
    final = trading.final_state(order_id)
    assert final is not None
    assert final.state is c.OrderState.FILLED


def test_business_reject_of_an_order_rejects_the_client_order(
    held: tuple[Stack, LpSimulator],
) -> None:
    stack, sim = held
    order_id, cl_ord_id = _place(stack)
    assert wait_for(lambda: cl_ord_id in sim.received.orders)
    reject = wire.message(
        "j", [(wire.REF_MSG_TYPE, "D"), (379, cl_ord_id), (wire.BUSINESS_REJECT_REASON, "4"),
              (wire.TEXT, "application not available")],
    )  # fmt: skip
    assert sim.send(Role.TRADE, reject)
    trading = stack.trading
    assert trading.pump(lambda: trading.final_state(order_id) is not None)
    final = trading.final_state(order_id)
    assert final is not None
    assert final.state is c.OrderState.REJECTED
    assert final.reason is c.RejectCode.LP_REJECTED
