"""A-book orders over real FIX sessions: core -> bridge -> simulated LP -> fill -> client."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from execution import contracts as c
from execution.lpsim.behaviour import Behaviour, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import StackFactory, start, wait_for

D = Decimal


def _order_id(reply: c.Reply) -> int:
    assert isinstance(reply, c.Accepted), reply
    assert reply.order_id is not None
    return reply.order_id


def test_a_book_fill_at_lp_price_plus_markup_is_journaled(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(ack=True, quote_interval=0.2))
    start(stack, [sim], simulators)
    trading = stack.trading

    order_id = _order_id(trading.place("EURUSD", "buy", "0.5"))
    assert trading.pump(lambda: trading.final_state(order_id) is not None)

    final = trading.final_state(order_id)
    assert final is not None
    assert final.state is c.OrderState.FILLED
    [deal] = trading.deals()
    [lp_order] = trading.sent
    assert lp_order.lp == "lp-alpha"
    assert lp_order.cl_ord_id in sim.received.orders
    # the LP filled at its ask; the client pays it plus the group's 1-point markup
    sim_order = sim.orders[lp_order.cl_ord_id]
    assert deal.price == sim_order.avg_px + D("0.00001")
    assert deal.volume == D("0.5")
    assert deal.book == "a"

    conn = stack.conn
    assert wait_for(
        lambda: conn.execute("SELECT count(*) FROM lp_execution_reports").fetchone() == (2,)
    ), "the bridge journals the ack and the fill"
    conn.commit()
    row = conn.execute(
        "SELECT o.status, o.cum_qty, r.exec_type, r.last_px, r.last_qty, r.raw_message "
        "FROM lp_orders o JOIN lp_execution_reports r ON r.lp_order_id = o.id "
        "WHERE o.cl_ord_id = %s AND r.exec_type = 'F'",
        (lp_order.cl_ord_id,),
    ).fetchone()
    assert row is not None
    status, cum_qty, exec_type, last_px, last_qty, raw = row
    assert (status, cum_qty, exec_type) == ("FILLED", D("0.5"), "F")
    assert (last_px, last_qty) == (sim_order.avg_px, D("0.5"))
    assert f"11={lp_order.cl_ord_id}\x01" in raw
    deal_row = conn.execute(
        "SELECT d.price, d.volume, d.routed, l.code FROM deals d JOIN lps l ON l.id = d.lp_id"
    ).fetchone()
    assert deal_row == (deal.price, D("0.5"), "A", "lp-alpha")


def test_lp_health_is_recorded_per_lp(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    behaviour = Behaviour(plan=deque([Outcome.FILL, Outcome.REJECT]))
    sim = stack.lps["lp-alpha"].simulator(behaviour)
    start(stack, [sim], simulators)
    trading = stack.trading
    first = _order_id(trading.place("EURUSD", "sell", "1"))
    second = _order_id(trading.place("EURUSD", "sell", "1"))
    assert trading.pump(
        lambda: trading.final_state(first) is not None and trading.final_state(second) is not None
    )
    stack.journal.stop()  # writes the health figures so far
    row = stack.conn.execute(
        "SELECT orders, fill_ratio, reject_ratio, filled_volume, latency_ms_avg, slippage_avg "
        "FROM lp_health WHERE lp = 'lp-alpha' AND symbol = 'EURUSD'"
    ).fetchone()
    assert row is not None
    orders, fill_ratio, reject_ratio, volume, latency, slippage = row
    assert (orders, fill_ratio, reject_ratio, volume) == (2, D("0.5"), D("0.5"), D(1))
    assert latency is not None
    assert latency >= 0
    assert slippage is not None
