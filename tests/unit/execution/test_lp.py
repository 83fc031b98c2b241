"""The in-process LP honours a limit price: never a fill worse than the order allowed."""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import Side
from execution.lp import InProcessLp, LpOrder, Purpose, ReportStatus

D = Decimal


def _order(side: Side, limit: str | None, fok: bool = False) -> LpOrder:
    return LpOrder("bs-1", "lp", "EURUSD", side, 10_000, Purpose.CLIENT, 1, 1, fok, 0,
                   None if limit is None else D(limit))  # fmt: skip


def _lp() -> InProcessLp:
    lp = InProcessLp("lp")
    lp.quote("EURUSD", D("1.10000"), D("1.10010"))
    return lp


def _outcome(order: LpOrder) -> list[tuple[ReportStatus, Decimal | None, Decimal]]:
    lp = _lp()
    lp.send(order)
    return [(r.status, r.last_px, r.last_qty) for r in lp.drain()]


def test_a_buy_limit_below_the_ask_is_canceled_unfilled() -> None:
    assert _outcome(_order(Side.BUY, "1.10009")) == [(ReportStatus.CANCELED, None, D(0))]


def test_a_sell_limit_above_the_bid_is_canceled_and_a_fok_one_rejected() -> None:
    assert _outcome(_order(Side.SELL, "1.10001")) == [(ReportStatus.CANCELED, None, D(0))]
    assert _outcome(_order(Side.SELL, "1.10001", fok=True)) == [(ReportStatus.REJECTED, None, D(0))]


def test_a_marketable_limit_fills_at_the_lp_price_not_the_limit() -> None:
    assert _outcome(_order(Side.BUY, "1.10010")) == [(ReportStatus.FILL, D("1.10010"), D(1))]
    assert _outcome(_order(Side.BUY, "1.20000")) == [(ReportStatus.FILL, D("1.10010"), D(1))]
    assert _outcome(_order(Side.SELL, "1.09000")) == [(ReportStatus.FILL, D("1.10000"), D(1))]


def test_a_market_order_fills_at_the_lp_price() -> None:
    assert _outcome(_order(Side.BUY, None)) == [(ReportStatus.FILL, D("1.10010"), D(1))]
