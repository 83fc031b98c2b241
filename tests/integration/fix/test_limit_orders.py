"""An LP order with a limit price goes out as an IOC (or FOK) limit (OrdType 2, Price 44), is
journaled as LIMIT with its price, and the LP never fills it worse than the limit."""

from __future__ import annotations

import time
from decimal import Decimal

from execution.contracts import Side
from execution.lp import LpOrder, Purpose
from execution.lpsim.behaviour import Behaviour
from execution.lpsim.simulator import LpSimulator
from execution.records import Outcome
from tests.integration.fix.conftest import Stack, StackFactory, start, wait_for

D = Decimal


def _send(stack: Stack, cl_ord_id: str, side: Side, limit: Decimal, fok: bool = False) -> None:
    """Journal and send a hedge order with a limit, as the service does."""
    order = LpOrder(cl_ord_id, "lp-alpha", "EURUSD", side, 10_000, Purpose.HEDGE, None, None,
                    fok, time.time_ns(), limit)  # fmt: skip
    stack.trading._settle(Outcome(journal=[order], lp_orders=[order]), None)


def _ended(stack: Stack, cl_ord_id: str) -> list[tuple[str, str, Decimal, Decimal | None]]:
    """The LP order's journaled row and its last report: (type, last ExecType, CumQty, price)."""

    def rows() -> list[tuple[str, str, Decimal, Decimal | None]]:
        stack.conn.commit()
        return [
            (str(t), str(e), Decimal(q), p)
            for t, e, q, p in stack.conn.execute(
                "SELECT o.type, r.exec_type, r.cum_qty, o.price FROM lp_orders o "
                "JOIN lp_execution_reports r ON r.lp_order_id = o.id "
                "WHERE o.cl_ord_id = %s ORDER BY r.id DESC LIMIT 1",
                (cl_ord_id,),
            )
        ]

    assert wait_for(lambda: bool(rows()))
    return rows()


def test_a_limit_goes_to_the_lp_and_is_never_filled_worse(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(spread_points=10), steady=True)
    start(stack, [sim], simulators)
    bid, ask = sim.price("EURUSD")  # 1.08495 / 1.08505
    step = D("0.00001")

    _send(stack, "bs-buy-low", Side.BUY, ask - step)  # the LP asks more than the limit
    _send(stack, "bs-buy-high", Side.BUY, ask + 10 * step)  # marketable: at the ask
    _send(stack, "bs-sell-fok", Side.SELL, bid + step, fok=True)  # the LP bids less

    assert _ended(stack, "bs-buy-low") == [("LIMIT", "4", D(0), ask - step)]  # IOC: canceled
    assert _ended(stack, "bs-buy-high") == [("LIMIT", "F", D(1), ask + 10 * step)]
    assert _ended(stack, "bs-sell-fok") == [("LIMIT", "8", D(0), bid + step)]  # FOK: rejected
    # the limit travelled on the wire, and the fill was at the LP's price, not the limit
    assert [sim.orders[c].limit for c in ("bs-buy-low", "bs-buy-high", "bs-sell-fok")] == [
        ask - step, ask + 10 * step, bid + step,
    ]  # fmt: skip
    assert sim.orders["bs-buy-high"].avg_px == ask
