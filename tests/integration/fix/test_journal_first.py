"""No fill is applied before its execution report is in the warehouse: a report under an
ExecID the LP used before is stored (not silently dropped by the unique key) before its fill
counts, a report the warehouse refuses is not applied at all, and a true duplicate is stored
once and fills nothing."""

from __future__ import annotations

import logging
from collections import deque
from decimal import Decimal

import pytest

from execution import contracts as c
from execution.fix import wire
from execution.fix.config import Role
from execution.lpsim.behaviour import Behaviour, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import Stack, StackFactory, start, wait_for

D = Decimal


def _place(stack: Stack, sim: LpSimulator) -> tuple[int, str]:
    reply = stack.trading.place("XAUUSD", "buy", "0.4")
    assert isinstance(reply, c.Accepted), reply
    assert reply.order_id is not None
    cl_ord_id = stack.trading.sent[-1].cl_ord_id
    assert wait_for(lambda: cl_ord_id in sim.received.orders)
    return reply.order_id, cl_ord_id


def _rows(stack: Stack, cl_ord_id: str) -> list[tuple[str, str, str, Decimal]]:
    stack.conn.commit()
    rows = stack.conn.execute(
        "SELECT r.exec_id, r.exec_type, r.ord_status, r.cum_qty FROM lp_execution_reports r "
        "JOIN lp_orders o ON o.id = r.lp_order_id WHERE o.cl_ord_id = %s ORDER BY r.id",
        (cl_ord_id,),
    ).fetchall()
    return [(str(e), str(t), str(s), Decimal(q)) for e, t, s, q in rows]


def _filled(stack: Stack, order_id: int) -> None:
    trading = stack.trading
    assert trading.pump(lambda: trading.final_state(order_id) is not None, 15)
    trading.pump_for(0.3)
    final = trading.final_state(order_id)
    assert final is not None
    assert final.state is c.OrderState.FILLED


def test_a_status_answer_under_a_reused_exec_id_is_journaled_before_it_fills(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    behaviour = Behaviour(plan=deque([Outcome.HOLD]), ack=True, reuse_exec_ids=True)
    sim = stack.lps["lp-alpha"].simulator(behaviour)
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _place(stack, sim)
    exec_id = sim.orders[cl_ord_id].order_id  # this LP's ExecID for every report of the order
    assert wait_for(lambda: _rows(stack, cl_ord_id) == [(exec_id, "0", "0", D(0))])

    sim.behaviour.lose_reports = 1
    sim.release()  # the fill report is lost ...
    sim.disconnect()  # ... and the reconnect asks for the order's status

    _filled(stack, order_id)
    [deal] = stack.trading.deals()
    assert deal.volume == D("0.4")
    assert _rows(stack, cl_ord_id) == [
        (exec_id, "0", "0", D(0)),
        (exec_id, "I", "2", D("0.4")),  # the answer that filled the client is on record
    ]


def test_a_report_the_warehouse_refuses_is_not_applied(
    stack_factory: StackFactory,
    simulators: list[LpSimulator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    stack = stack_factory(["lp-alpha"], order_timeout_ms=60_000)
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.HOLD])))
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _place(stack, sim)
    order_ref = sim.orders[cl_ord_id].order_id
    # a fill at a price no exact_price column holds (numeric(24, 10)): the row is refused
    refused = wire.message(
        "8",
        [(wire.ORDER_ID, order_ref), (wire.CL_ORD_ID, cl_ord_id), (wire.EXEC_ID, "huge-1"),
         (wire.EXEC_TYPE, "F"), (wire.ORD_STATUS, "2"), (wire.SYMBOL, "XAUUSD"),
         (wire.SIDE, "1"), (wire.LEAVES_QTY, "0"), (wire.CUM_QTY, "0.4"),
         (wire.AVG_PX, "1000000000000000"), (wire.LAST_PX, "1000000000000000"),
         (wire.LAST_QTY, "0.4")],
    )  # fmt: skip
    asked_before = len(sim.received.status_requests)
    assert sim.send(Role.TRADE, refused)

    stack.trading.pump_for(1.0)
    assert stack.trading.deals() == []
    assert stack.trading.final_state(order_id) is None  # still open: the LP said it holds it
    assert "could not be journaled" in caplog.text
    assert len(sim.received.status_requests) > asked_before

    sim.release()
    _filled(stack, order_id)
    [deal] = stack.trading.deals()
    assert deal.price == sim.orders[cl_ord_id].avg_px + D("0.01")  # the LP's real price
    assert [exec_id for exec_id, *_ in _rows(stack, cl_ord_id)].count("huge-1") == 0


def test_a_resent_report_is_stored_once_and_fills_once(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.HOLD])))
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _place(stack, sim)
    fill = [
        (wire.ORDER_ID, "X1"), (wire.CL_ORD_ID, cl_ord_id), (wire.EXEC_ID, "twice-1"),
        (wire.EXEC_TYPE, "F"), (wire.ORD_STATUS, "2"), (wire.SYMBOL, "XAUUSD"),
        (wire.SIDE, "1"), (wire.LEAVES_QTY, "0"), (wire.CUM_QTY, "0.4"),
        (wire.AVG_PX, "2350.5"), (wire.LAST_PX, "2350.5"), (wire.LAST_QTY, "0.4"),
    ]  # fmt: skip
    for _ in range(2):
        assert sim.send(Role.TRADE, wire.message("8", fill))

    _filled(stack, order_id)
    stack.trading.pump_for(0.5)
    [deal] = stack.trading.deals()
    assert (deal.volume, deal.price) == (D("0.4"), D("2350.51"))
    assert _rows(stack, cl_ord_id) == [("twice-1", "F", "2", D("0.4"))]
