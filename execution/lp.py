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
    """What an LP report says. ACCEPTED only records the LP's OrderID on the LP order row:
    the service keeps it from ``Core.on_lp_report``, to which any report but a fill is final."""

    ACCEPTED = "accepted"  # the LP acknowledged the order (carries its OrderID); nothing filled
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
    # an IOC/FOK limit at the LP (None: market): what an A-book limit or stop order allows;
    # the LP must not fill worse (buy: at most, sell: at least)
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
    lp_order_ref: str = ""  # the LP's OrderID (tag 37), when it named one


class LpGateway(Protocol):
    def send(self, order: LpOrder) -> None: ...


def within_limit(order: LpOrder, price: Decimal) -> bool:
    """Whether a fill at ``price`` honours the order's limit (always, for a market order)."""
    limit = order.limit_price
    if limit is None:
        return True
    return price <= limit if order.side is Side.BUY else price >= limit


class InProcessLp:
    """An LP for tests and the demo: fills at its own current price, never worse than an
    order's limit (an IOC limit it cannot meet is canceled unfilled, a FOK one rejected).

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
        if not within_limit(order, px):
            status = ReportStatus.REJECTED if order.fok else ReportStatus.CANCELED
            self._reports.append(LpReport(order.cl_ord_id, status, text="limit not marketable"))
            return
        self._reports.append(LpReport(order.cl_ord_id, ReportStatus.FILL, px, filled))
        if filled < volume:
            self._reports.append(LpReport(order.cl_ord_id, ReportStatus.CANCELED))

    def drain(self) -> list[LpReport]:
        reports, self._reports = self._reports, []
        return reports
