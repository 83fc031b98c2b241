"""The bridge's view of its orders at the LPs, and how an ExecutionReport becomes LpReports.

An LP's cumulative quantity (CumQty) is the truth, not the sum of the LastQty values we
happened to receive: a fill is applied as the growth of CumQty over what was already applied.
So a duplicate, a resent (PossDup) or an out-of-order report, or a status answer after the
fills it sums up, can never fill anything twice, and a status answer fills what the
reports lost in a disconnect did not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from execution.contracts import Side
from execution.fix import wire
from execution.lp import LpOrder, LpReport, ReportStatus

_LOT_STEP = Decimal("0.0001")  # the core's finest volume step
# ExecTypes that only acknowledge: new, pending new, pending cancel, pending replace
_ACKS = frozenset({"0", "A", "6", "E"})
_NO_ORDER_ID = "NONE"  # OrderID of a status answer for an order the LP does not know
# OrdStatus values after which nothing more happens to the order
_DONE = {"2": None, "3": ReportStatus.CANCELED, "4": ReportStatus.CANCELED}
_DONE |= {"8": ReportStatus.REJECTED, "C": ReportStatus.CANCELED}


@dataclass(frozen=True, slots=True)
class ExecReport:
    """The fields of one ExecutionReport the bridge uses, copied out of the callback."""

    cl_ord_id: str
    exec_id: str
    exec_type: str
    ord_status: str
    last_px: Decimal | None
    last_qty: Decimal | None
    cum_qty: Decimal | None
    avg_px: Decimal | None
    leaves_qty: Decimal | None
    text: str
    order_ref: str

    @classmethod
    def parse(cls, values: dict[int, str]) -> ExecReport:
        return cls(
            values.get(wire.CL_ORD_ID, ""),
            values.get(wire.EXEC_ID, ""),
            values.get(wire.EXEC_TYPE, ""),
            values.get(wire.ORD_STATUS, ""),
            wire.decimal(values.get(wire.LAST_PX)),
            wire.decimal(values.get(wire.LAST_QTY)),
            wire.decimal(values.get(wire.CUM_QTY)),
            wire.decimal(values.get(wire.AVG_PX)),
            wire.decimal(values.get(wire.LEAVES_QTY)),
            values.get(wire.TEXT, ""),
            values.get(wire.ORDER_ID, ""),
        )

    @property
    def lp_order_ref(self) -> str:
        return "" if self.order_ref == _NO_ORDER_ID else self.order_ref

    def key(self, lp: str) -> tuple[str, ...]:
        """What makes two reports the same report (a resend, a duplicate): the warehouse
        stores each once under the same key. An LP that reuses an ExecID for another report
        of the order (a status answer, per-order counters) sends a new one."""
        cum = "" if self.cum_qty is None else format(self.cum_qty.normalize(), "f")
        return (lp, self.cl_ord_id, self.exec_id, self.exec_type, self.ord_status, cum)


@dataclass(slots=True)
class Working:
    """An order sent (or, after a restart, believed sent) and not yet final."""

    order: LpOrder
    lp_symbol: str
    qty: Decimal  # lots
    sent_ns: int
    quoted_px: Decimal | None = None  # the LP's own price for our side when we sent
    cum_qty: Decimal = Decimal(0)
    cum_value: Decimal = Decimal(0)  # sum of price x lots applied
    acked_ns: int | None = None
    # status requests (inquiries.py): how long to wait for a final report, how many were sent
    timeout_ns: int = 5_000_000_000
    asked: int = 0
    last_asked_ns: int = 0
    due_ns: int = 0  # when to ask if the order is still open; set on register

    def __post_init__(self) -> None:
        self.due_ns = self.sent_ns + self.timeout_ns


@dataclass(frozen=True, slots=True)
class Final:
    """An order that reached its end: what the health figures need."""

    working: Working
    status: ReportStatus | None  # None: filled in full
    done_ns: int


@dataclass(slots=True)
class Applied:
    reports: list[LpReport] = field(default_factory=list)
    final: Final | None = None
    reason: str = ""  # why nothing (or not everything) was applied, for the log
    unusable: bool = False  # the report says something impossible: ask the LP instead


class OrderBook:
    """In-flight orders by ClOrdID. Touched by the sending thread (register), the journal
    thread (apply, once a report is written), quickfix callback threads and the bridge's
    timer (status requests): every read or change goes under ``locked()``, and nothing is
    sent to an LP while it is held (quickfix holds its session lock when it calls back)."""

    def __init__(self, remembered_reports: int = 200_000) -> None:
        self.working: dict[str, Working] = {}
        self._reports: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._finished: OrderedDict[str, None] = OrderedDict()  # recently final ClOrdIDs
        self._capacity = remembered_reports
        self._lock = threading.RLock()

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def register(self, working: Working) -> None:
        with self._lock:
            self.working[working.order.cl_ord_id] = working

    def forget(self, cl_ord_id: str) -> None:
        with self._lock:
            self.working.pop(cl_ord_id, None)

    def knows(self, cl_ord_id: str) -> bool:
        """Whether the order is open here."""
        with self._lock:
            return cl_ord_id in self.working

    def at(self, lp: str) -> list[Working]:
        with self._lock:
            return [w for w in self.working.values() if w.order.lp == lp]

    def due(self, now_ns: int) -> list[Working]:
        """Open orders whose final report is overdue."""
        with self._lock:
            return [w for w in self.working.values() if w.due_ns <= now_ns]

    def seen(self, lp: str, report: ExecReport) -> bool:
        """Remember a report; True when this LP already sent this very report."""
        key = report.key(lp)
        with self._lock:
            if key in self._reports:
                return True
            self._reports[key] = None
            if len(self._reports) > self._capacity:
                self._reports.popitem(last=False)
            return False

    def apply(self, lp: str, report: ExecReport, now_ns: int) -> Applied:
        with self._lock:
            return self._apply(lp, report, now_ns)

    def _apply(self, lp: str, report: ExecReport, now_ns: int) -> Applied:
        out = Applied()
        working = self.working.get(report.cl_ord_id)
        if working is None:
            if report.cl_ord_id in self._finished:
                out.reason = f"out of order: report for {report.cl_ord_id} after it was final"
            else:
                out.reason = f"unknown ClOrdID {report.cl_ord_id!r}"
            return out
        if working.order.lp != lp:
            out.reason = f"ClOrdID {report.cl_ord_id!r} belongs to {working.order.lp}"
            return out
        if working.acked_ns is None:
            working.acked_ns = now_ns
        kind = report.exec_type
        if kind in _ACKS:
            if kind == "0":
                out.reports.append(
                    LpReport(report.cl_ord_id, ReportStatus.ACCEPTED,
                             lp_order_ref=report.lp_order_ref)
                )  # fmt: skip
            return out
        if kind == "8":
            return self._end(out, working, ReportStatus.REJECTED, report, now_ns)
        if kind in ("4", "C"):
            self._grow(out, working, report, trade=False)
            return self._end(out, working, ReportStatus.CANCELED, report, now_ns)
        if kind not in ("F", "I", "1", "2"):  # 1/2: partial fill / fill, as FIX 4.2 LPs send
            out.reason = f"unexpected ExecType {kind!r} for {report.cl_ord_id}"
            out.unusable = True
            return out
        self._grow(out, working, report, trade=kind != "I")
        if out.reason:
            return out
        if working.cum_qty == working.qty:
            return self._finish(out, working, None, now_ns)
        if report.ord_status in _DONE:
            status = _DONE[report.ord_status] or ReportStatus.CANCELED
            return self._end(out, working, status, report, now_ns)
        return out

    def _grow(self, out: Applied, working: Working, report: ExecReport, trade: bool) -> None:
        """Apply the growth of CumQty as one fill (a trade without CumQty counts LastQty)."""
        cum = report.cum_qty
        if cum is None and trade and report.last_qty is not None:
            cum = working.cum_qty + report.last_qty
        if cum is None:
            if trade:
                out.reason = f"fill for {report.cl_ord_id} without CumQty/LastQty"
                out.unusable = True
            return
        if cum < 0 or cum > working.qty or cum.quantize(_LOT_STEP) != cum:
            out.reason = f"CumQty {cum} impossible for {working.qty} lots ({report.cl_ord_id})"
            out.unusable = True
            return
        delta = cum - working.cum_qty
        if delta < 0:
            out.reason = f"out of order: CumQty {cum} below {working.cum_qty} already applied"
            return
        if delta == 0:
            if trade:
                out.reason = f"duplicate fill: CumQty {cum} already applied ({report.cl_ord_id})"
            return
        price = self._price(working, report, cum, delta)
        if price is None:
            out.reason = f"fill for {report.cl_ord_id} without a usable LastPx/AvgPx"
            out.unusable = True
            return
        working.cum_qty = cum
        working.cum_value += price * delta
        leaves = working.qty - cum
        out.reports.append(
            LpReport(working.order.cl_ord_id, ReportStatus.FILL, price, delta, leaves,
                     report.text, report.lp_order_ref)
        )  # fmt: skip

    @staticmethod
    def _price(
        working: Working, report: ExecReport, cum: Decimal, delta: Decimal
    ) -> Decimal | None:
        last_px = report.last_px
        if report.last_qty == delta and last_px is not None and last_px > 0:
            return last_px
        avg = report.avg_px
        if avg is None or avg <= 0:
            return None
        # what the missed fills cost: the LP's whole average less what was applied
        price = (avg * cum - working.cum_value) / delta
        return price if price > 0 else None

    def _end(
        self,
        out: Applied,
        working: Working,
        status: ReportStatus,
        report: ExecReport,
        now_ns: int,
    ) -> Applied:
        out.reports.append(
            LpReport(working.order.cl_ord_id, status, text=report.text or report.ord_status,
                     lp_order_ref=report.lp_order_ref)
        )  # fmt: skip
        return self._finish(out, working, status, now_ns)

    def _finish(
        self, out: Applied, working: Working, status: ReportStatus | None, now_ns: int
    ) -> Applied:
        cl_ord_id = working.order.cl_ord_id
        self.working.pop(cl_ord_id, None)
        self._finished[cl_ord_id] = None
        if len(self._finished) > self._capacity:
            self._finished.popitem(last=False)
        out.final = Final(working, status, now_ns)
        return out


def slippage(working: Working, price: Decimal) -> Decimal | None:
    """How much worse than the LP's own quote at send time a fill came (negative: better)."""
    quoted = working.quoted_px
    if quoted is None:
        return None
    return price - quoted if working.order.side is Side.BUY else quoted - price
