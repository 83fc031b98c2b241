"""An order whose report was lost or unusable is asked for (OrderStatusRequest H) instead of
staying routed until the next logon: after a gap fill over the report, after our session
Reject of it, after an impossible CumQty, and when no final report comes in time (again and
again, with backoff, logged and counted)."""

from __future__ import annotations

import itertools
import logging
from collections import deque
from decimal import Decimal

import pytest

from execution import contracts as c
from execution.fix import wire
from execution.lpsim.behaviour import Behaviour, Misreport, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import Stack, StackFactory, start, wait_for

D = Decimal
_LONG = 60_000  # ms: a per-order timeout that cannot be what resolved the order


def _held(stack: Stack, sim: LpSimulator, lots: str = "0.4") -> tuple[int, str]:
    reply = stack.trading.place("XAUUSD", "buy", lots)
    assert isinstance(reply, c.Accepted), reply
    assert reply.order_id is not None
    cl_ord_id = stack.trading.sent[-1].cl_ord_id
    assert wait_for(lambda: cl_ord_id in sim.received.orders)
    return reply.order_id, cl_ord_id


def _reports(stack: Stack, cl_ord_id: str) -> list[tuple[str, str, Decimal]]:
    stack.conn.commit()
    rows = stack.conn.execute(
        "SELECT r.exec_type, r.ord_status, r.cum_qty FROM lp_execution_reports r "
        "JOIN lp_orders o ON o.id = r.lp_order_id WHERE o.cl_ord_id = %s ORDER BY r.id",
        (cl_ord_id,),
    ).fetchall()
    return [(str(t), str(s), Decimal(q)) for t, s, q in rows]


def _filled_once_by_status_answer(
    stack: Stack, sim: LpSimulator, order_id: int, cl_ord_id: str, lots: str, timeout: float
) -> None:
    trading = stack.trading
    assert trading.pump(lambda: trading.final_state(order_id) is not None, timeout)
    trading.pump_for(0.3)
    final = trading.final_state(order_id)
    assert final is not None
    assert final.state is c.OrderState.FILLED
    [deal] = trading.deals()
    assert deal.volume == D(lots)
    assert deal.price == sim.orders[cl_ord_id].avg_px + D("0.01")  # LP price plus markup
    assert cl_ord_id in sim.received.status_requests
    # the fill the client got came from the status answer, and that answer is journaled
    assert wait_for(lambda: ("I", "2", D(lots)) in _reports(stack, cl_ord_id))


def test_a_report_lost_in_transit_and_gap_filled_is_asked_for(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    # heartbeats every second reveal the gap; the per-order timeout is far away
    stack = stack_factory(["lp-alpha"], heartbeat_seconds=1, order_timeout_ms=_LONG)
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.HOLD])))
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _held(stack, sim)
    assert stack.trading.pump(lambda: cl_ord_id in sim.received.orders)
    asked_before = len(sim.received.status_requests)

    sim.behaviour.lose_reports = 1
    sim.release()  # filled at the LP; the report never reaches us

    _filled_once_by_status_answer(stack, sim, order_id, cl_ord_id, "0.4", timeout=15)
    assert len(sim.received.status_requests) > asked_before
    assert [t for t, _, _ in _reports(stack, cl_ord_id)] == ["I"]  # the F never arrived


def test_a_report_the_lp_gap_fills_instead_of_resending_after_a_drop_is_asked_for(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"], order_timeout_ms=_LONG)
    behaviour = Behaviour(plan=deque([Outcome.HOLD]), gap_fill_resends=True)
    sim = stack.lps["lp-alpha"].simulator(behaviour)
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _held(stack, sim)

    sim.behaviour.down = True
    sim.disconnect()
    assert stack.trading.pump(lambda: stack.trading.connected["lp-alpha"] is False)
    sim.release()  # filled while we are away; on our resend request the LP gap-fills over it
    sim.behaviour.down = False

    _filled_once_by_status_answer(stack, sim, order_id, cl_ord_id, "0.4", timeout=15)
    assert [t for t, _, _ in _reports(stack, cl_ord_id)] == ["I"]  # the F was never resent


def test_a_report_we_reject_at_session_level_is_asked_for(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"], order_timeout_ms=_LONG)
    behaviour = Behaviour(plan=deque([Outcome.FILL]), misreports=deque([Misreport.GARBLED]))
    sim = stack.lps["lp-alpha"].simulator(behaviour)
    start(stack, [sim], simulators)

    order_id, cl_ord_id = _held(stack, sim)

    assert wait_for(lambda: any(r.get(wire.REF_MSG_TYPE) == "8" for r in sim.received.rejects))
    _filled_once_by_status_answer(stack, sim, order_id, cl_ord_id, "0.4", timeout=10)


@pytest.mark.parametrize("misreport", [Misreport.OVERFILL, Misreport.NEGATIVE])
def test_an_impossible_cum_qty_is_not_applied_and_the_order_is_asked_for(
    stack_factory: StackFactory, simulators: list[LpSimulator], misreport: Misreport
) -> None:
    stack = stack_factory(["lp-alpha"], order_timeout_ms=_LONG)
    behaviour = Behaviour(plan=deque([Outcome.FILL]), misreports=deque([misreport]))
    sim = stack.lps["lp-alpha"].simulator(behaviour)
    start(stack, [sim], simulators)

    order_id, cl_ord_id = _held(stack, sim)

    # filled with the order's 0.4 lots, never the 0.8 or -0.4 the first report claimed
    _filled_once_by_status_answer(stack, sim, order_id, cl_ord_id, "0.4", timeout=10)


def test_an_order_without_a_final_report_is_asked_for_with_backoff_until_it_ends(
    stack_factory: StackFactory,
    simulators: list[LpSimulator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="execution.fix.inquiries")
    stack = stack_factory(["lp-alpha"], order_timeout_ms=500)
    # an LP that neither fills nor answers status requests
    sim = stack.lps["lp-alpha"].simulator(
        Behaviour(plan=deque([Outcome.HOLD]), answer_status=False)
    )
    start(stack, [sim], simulators)
    order_id, cl_ord_id = _held(stack, sim)
    trading = stack.trading

    assert trading.pump(lambda: len(sim.received.status_requests) >= 4, 15)
    times = sim.received.status_request_times
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # each request waits twice as long as the one before (0.5 s, 1 s, 2 s): never sooner
    for n, gap in enumerate(gaps[:3]):
        assert gap >= 0.5 * 2**n - 0.05, gaps
    assert trading.final_state(order_id) is None  # still open, still being asked for

    sim.behaviour.answer_status = True
    sim.behaviour.lose_reports = 1
    sim.release()  # filled at the LP, the report lost: only the next status request tells

    _filled_once_by_status_answer(stack, sim, order_id, cl_ord_id, "0.4", timeout=15)
    assert "status request 4 for " + cl_ord_id in caplog.text
    assert "no final report in time" in caplog.text

    def counted() -> int:
        stack.conn.commit()
        row = stack.conn.execute(
            "SELECT coalesce(sum(status_requests), 0) FROM lp_health WHERE lp = 'lp-alpha'"
        ).fetchone()
        return int(row[0]) if row else 0

    asked = len(sim.received.status_requests)
    assert wait_for(lambda: counted() == asked), (counted(), asked)
