"""The simulated LP's orders and the ExecutionReports it sends about them, told truly or, when
its ``Behaviour`` misreports, with an impossible CumQty or a field that is not a number."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import quickfix as fix

from execution.contracts import Side
from execution.fix import wire
from execution.lpsim.behaviour import Misreport

_FINAL = ("2", "4", "8")


@dataclass(slots=True)
class SimOrder:
    cl_ord_id: str
    order_id: str
    symbol: str
    side: Side
    qty: Decimal
    limit: Decimal | None
    fok: bool
    cum: Decimal = Decimal(0)
    cum_value: Decimal = Decimal(0)
    status: str = "A"  # OrdStatus: A pending new, 0 new, 1/2 partial/filled, 4, 8

    @property
    def avg_px(self) -> Decimal:
        return (self.cum_value / self.cum).normalize() if self.cum else Decimal(0)


@dataclass(frozen=True, slots=True)
class Report:
    exec_type: str
    ord_status: str
    text: str = ""
    reason: str = ""  # OrdRejReason
    last: tuple[Decimal, Decimal] | None = None  # LastPx, LastQty of a fill


def report_message(
    order: SimOrder, exec_id: str, report: Report, misreport: Misreport | None = None
) -> fix.Message:
    final = report.ord_status in _FINAL
    cum = order.cum
    if misreport is Misreport.OVERFILL:
        cum = order.qty * 2
    elif misreport is Misreport.NEGATIVE:
        cum = -order.qty
    values = [
        (wire.ORDER_ID, order.order_id),
        (wire.CL_ORD_ID, order.cl_ord_id),
        (wire.EXEC_ID, exec_id),
        (wire.EXEC_TYPE, report.exec_type),
        (wire.ORD_STATUS, report.ord_status),
        (wire.SYMBOL, order.symbol),
        (wire.SIDE, wire.FIX_SIDE[order.side]),
        (wire.ORDER_QTY, format(order.qty, "f")),
        (wire.LEAVES_QTY, "0" if final else format(order.qty - order.cum, "f")),
        (wire.CUM_QTY, format(cum, "f")),
        (wire.AVG_PX, format(order.avg_px, "f")),
        (wire.TRANSACT_TIME, wire.utc_timestamp()),
    ]
    if report.last is not None:
        px, qty = report.last
        if misreport is Misreport.OVERFILL:
            qty = cum
        last_px = "abc" if misreport is Misreport.GARBLED else format(px, "f")
        values += [(wire.LAST_PX, last_px), (wire.LAST_QTY, format(qty, "f"))]
    if report.text:
        values.append((wire.TEXT, report.text))
    if report.reason:
        values.append((wire.ORD_REJ_REASON, report.reason))
    return wire.message("8", values)
