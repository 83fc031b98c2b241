"""Disconnects and restarts with an order in flight: sequence numbers resume, the order is
resolved by an OrderStatusRequest, nothing is filled twice or lost."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from execution import contracts as c
from execution.fix import Recovering
from execution.lp import LpOrder, Purpose
from execution.lpsim.behaviour import Behaviour, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import Stack, StackFactory, start, wait_for

D = Decimal


def _held_order(stack: Stack, sim: LpSimulator) -> tuple[int, str]:
    reply = stack.trading.place("XAUUSD", "buy", "0.4")
    assert isinstance(reply, c.Accepted), reply
    assert reply.order_id is not None
    [lp_order] = stack.trading.sent
    assert wait_for(lambda: lp_order.cl_ord_id in sim.received.orders)
    return reply.order_id, lp_order.cl_ord_id


def _exec_types(stack: Stack, cl_ord_id: str) -> list[str]:
    stack.conn.commit()
    rows = stack.conn.execute(
        "SELECT r.exec_type FROM lp_execution_reports r JOIN lp_orders o "
        "ON o.id = r.lp_order_id WHERE o.cl_ord_id = %s ORDER BY r.id",
        (cl_ord_id,),
    ).fetchall()
    return [row[0] for row in rows]


def _filled_once(stack: Stack, order_id: int, cl_ord_id: str, sim: LpSimulator) -> None:
    trading = stack.trading
    assert trading.pump(lambda: trading.final_state(order_id) is not None)
    trading.pump_for(0.5)  # anything else on its way (a resent report) arrives meanwhile
    final = trading.final_state(order_id)
    assert final is not None
    assert final.state is c.OrderState.FILLED
    [deal] = trading.deals()
    assert deal.volume == D("0.4")
    assert deal.price == sim.orders[cl_ord_id].avg_px + D("0.01")  # LP price plus markup
    assert cl_ord_id in sim.received.status_requests
    assert wait_for(lambda: "F" in _exec_types(stack, cl_ord_id))
    assert _exec_types(stack, cl_ord_id).count("F") == 1  # the resent F is the same ExecID


def test_disconnect_mid_order_resolves_by_status_request(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.HOLD])))
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _held_order(stack, sim)
    sent_before, _ = stack.bridge.next_sequence_numbers("lp-alpha")

    sim.behaviour.down = True
    sim.disconnect()
    assert stack.trading.pump(lambda: stack.trading.connected["lp-alpha"] is False)
    sim.release()  # the LP fills while we are away; its report waits in its store
    sim.behaviour.down = False
    assert stack.trading.pump(lambda: stack.trading.connected["lp-alpha"] is True)

    _filled_once(stack, order_id, cl_ord_id, sim)
    sent_after, _ = stack.bridge.next_sequence_numbers("lp-alpha")
    assert sent_after > sent_before > 1  # resumed, never reset


def test_restart_with_order_in_flight_asks_the_lp(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.HOLD])))
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _held_order(stack, sim)
    sent_before, _ = stack.bridge.next_sequence_numbers("lp-alpha")

    stack.stop_bridge()
    sim.release()
    # the service reloads its journal: the LP order is known, nothing applied to it yet
    [journaled] = stack.trading.sent
    stack.start_new_bridge([Recovering(journaled)])
    assert stack.trading.pump(lambda: stack.trading.connected.get("lp-alpha") is True)

    _filled_once(stack, order_id, cl_ord_id, sim)
    assert stack.bridge.next_sequence_numbers("lp-alpha")[0] > sent_before


def test_status_request_for_an_order_the_lp_never_got_rejects_it(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour())
    start(stack, [sim], simulators)
    trading = stack.trading
    reply = trading.place("EURUSD", "sell", "0.1")
    assert isinstance(reply, c.Accepted)
    assert reply.order_id is not None
    [lp_order] = trading.sent
    assert trading.pump(lambda: trading.final_state(reply.order_id or 0) is not None)

    # a journaled hedge that never reached the LP (the process died before sending it)
    lost = LpOrder("bs-never-sent", "lp-alpha", "EURUSD", c.Side.BUY, 1000, Purpose.HEDGE,
                   None, None, False, lp_order.time)  # fmt: skip
    trading.core.ctx.lp_orders[lost.cl_ord_id] = lost
    stack.conn.execute(
        """INSERT INTO lp_orders (cl_ord_id, lp_id, instrument_id, purpose, side, type,
               time_in_force, volume)
           SELECT %s, l.id, i.id, 'HEDGE', 'BUY', 'MARKET', 'IOC', 0.1
           FROM lps l, instruments i WHERE l.code = 'lp-alpha' AND i.symbol = 'EURUSD'""",
        (lost.cl_ord_id,),
    )
    stack.conn.commit()
    stack.stop_bridge()
    stack.start_new_bridge([Recovering(lost)])
    assert trading.pump(lambda: lost.cl_ord_id not in trading.core.ctx.lp_orders)
    assert "bs-never-sent" in sim.received.status_requests
    assert len(trading.deals()) == 1  # only the first order's fill
