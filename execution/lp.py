"""The LP gateway interface, the orders and reports crossing it, and an in-process LP.

The core never calls a gateway: it returns `LpOrder`s in its outcome; the shell journals them
(ClOrdID first, domain.md FIX) and then hands them to `LpGateway.send`. Reports come back to
`Core.on_lp_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from execution.contracts import Side
from execution.units import units_to_lots


class Purpose(StrEnum):
    CLIENT = "client"  # an A-book client order: the client is filled on this fill
    HEDGE = "hedge"  # the broker's own cover for B-book exposure


class ReportStatus(StrEnum):
    FILL = "fill"  # (partial) trade: LastPx / LastQty
    REJECTED = "rejected"
    CANCELED = "canceled"  # the unfilled rest of an IOC order


@dataclass(frozen=True, slots=True)
class LpOrder:
    cl_ord_id: str
    lp: str
    symbol: str
    side: Side
    units: int
    purpose: Purpose
    account_id: int | None  # the client order's account and id, for Purpose.CLIENT
    order_id: int | None
    fok: bool
    time: int
    # an IOC/FOK limit at the LP (None: market): what an A-book limit or stop order allows
    limit_price: Decimal | None = None

    @property
    def volume(self) -> Decimal:
        return units_to_lots(self.units)


@dataclass(frozen=True, slots=True)
class LpReport:
    cl_ord_id: str
    status: ReportStatus
    last_px: Decimal | None = None
    last_qty: Decimal = Decimal(0)  # lots
    leaves_qty: Decimal = Decimal(0)  # lots still working after this report
    text: str = ""


class LpGateway(Protocol):
    def send(self, order: LpOrder) -> None: ...


class InProcessLp:
    """An LP for tests and the demo: fills market orders at its own current price.

    `reject_next` makes the next order rejected; `fill_ratio` < 1 fills only part (IOC rest
    canceled; FOK orders are then rejected whole).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.prices: dict[str, tuple[Decimal, Decimal]] = {}
        self.sent: list[LpOrder] = []
        self.reject_next = False
        self.fill_ratio = Decimal(1)
        self._reports: list[LpReport] = []

    def quote(self, symbol: str, bid: Decimal, ask: Decimal) -> None:
        self.prices[symbol] = (bid, ask)

    def send(self, order: LpOrder) -> None:
        self.sent.append(order)
        price = self.prices.get(order.symbol)
        if self.reject_next or price is None:
            self.reject_next = False
            self._reports.append(
                LpReport(order.cl_ord_id, ReportStatus.REJECTED, text="no liquidity")
            )
            return
        volume = order.volume
        filled = (volume * self.fill_ratio).quantize(Decimal("0.0001"))
        if order.fok and filled < volume:
            self._reports.append(LpReport(order.cl_ord_id, ReportStatus.REJECTED, text="FOK"))
            return
        px = price[1] if order.side is Side.BUY else price[0]
        limit = order.limit_price
        if limit is not None and (px > limit if order.side is Side.BUY else px < limit):
            self._reports.append(
                LpReport(order.cl_ord_id, ReportStatus.CANCELED, text="limit not marketable")
            )
            return
        self._reports.append(LpReport(order.cl_ord_id, ReportStatus.FILL, px, filled))
        if filled < volume:
            self._reports.append(LpReport(order.cl_ord_id, ReportStatus.CANCELED))

    def drain(self) -> list[LpReport]:
        reports, self._reports = self._reports, []
        return reports
