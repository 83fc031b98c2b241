"""Dealing: route an order (A-book, B-book, partial, reject), fill B-book flow internally,
send A-book flow and hedges to LPs, apply LP reports, and keep the broker's net exposure
under each symbol's threshold (domain.md, Routing)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from execution.context import Context
from execution.contracts import DealReason, OrderState, OrderType, RejectCode, Side, TimeInForce
from execution.fills import Fills
from execution.lp import LpOrder, LpReport, Purpose, ReportStatus
from execution.margin import Valuation
from execution.records import Outcome, order_update
from execution.routing import DEFAULT_RULE, RouteAction, RouteRequest, route
from execution.state import Account, Order, Position
from execution.units import lots_to_units, price_to_points, to_decimal


class Dealer:
    def __init__(self, ctx: Context, fills: Fills) -> None:
        self.ctx = ctx
        self.fills = fills

    def execute(
        self,
        out: Outcome,
        account: Account,
        order: Order,
        now: int,
        valuation: Valuation | None,
        reason: DealReason = DealReason.CLIENT,
        position: Position | None = None,
    ) -> RejectCode | None:
        """Execute a market order (new, or a triggered pending one) by its routing rule."""
        ctx = self.ctx
        instrument = order.instrument
        rule = DEFAULT_RULE
        if ctx.rules:
            request = RouteRequest(
                account.group.name,
                account.id,
                instrument.symbol,
                instrument.symbol_group,
                order.units,
                account.toxicity,
                valuation.level() if valuation is not None else None,
            )
            rule = route(ctx.rules, request)
        action = rule.action
        if action is RouteAction.REJECT:
            return RejectCode.ROUTING_REJECTED
        if action is RouteAction.REQUOTE:
            return RejectCode.REQUOTE
        if action is RouteAction.A_BOOK:
            lp = self._lp_for(instrument.symbol, order.side, rule.lp)
            if lp is None:
                return RejectCode.OFF_QUOTES
            order.book = "a"
            order.state = OrderState.ROUTED
            account.orders[order.id] = order
            self._send(
                out, lp, instrument.symbol, order.side, order.units, Purpose.CLIENT, order, now,
                self._lp_limit(account, order),
            )  # fmt: skip
            return None
        quote = ctx.book(account.group)[instrument.symbol]
        price = quote.ask if order.side is Side.BUY else quote.bid
        deal_id, order.position_id = self.fills.fill(
            out, account, instrument, order.side, order.units, price, now,
            order=order, reason=reason, position=position,
        )  # fmt: skip
        order.deal_ids = (deal_id,)
        order.filled = order.units
        order.state = OrderState.FILLED
        if action is RouteAction.PARTIAL and rule.hedge_ratio > 0:
            units = int(order.units * rule.hedge_ratio)
            units -= units % instrument.step_units
            lp = self._lp_for(instrument.symbol, order.side, rule.lp)
            if units > 0 and lp is not None:
                self._send(out, lp, instrument.symbol, order.side, units, Purpose.HEDGE, None, now)
        self.hedge_excess(out, instrument.symbol, now)
        return None

    def hedge_excess(self, out: Outcome, symbol: str, now: int) -> None:
        """Send to an LP the part of the broker's uncovered exposure above the threshold."""
        ctx = self.ctx
        threshold = ctx.hedge_thresholds.get(symbol)
        if threshold is None:
            return
        uncovered = (
            ctx.client_net.get(symbol, 0)
            - ctx.hedged.get(symbol, 0)
            - ctx.hedging_in_flight.get(symbol, 0)
        )
        excess = abs(uncovered) - threshold
        excess -= excess % ctx.instruments[symbol].step_units
        if excess <= 0:
            return
        side = Side.BUY if uncovered > 0 else Side.SELL
        lp = self._lp_for(symbol, side, None)
        if lp is not None:
            self._send(out, lp, symbol, side, excess, Purpose.HEDGE, None, now)

    def on_report(self, out: Outcome, report: LpReport, now: int) -> None:
        ctx = self.ctx
        lp_order = ctx.lp_orders.get(report.cl_ord_id)
        if lp_order is None:
            return  # unknown or already final: a duplicate report changes nothing
        instrument = ctx.instruments[lp_order.symbol]
        signed = 1 if lp_order.side is Side.BUY else -1
        filled = ctx.lp_filled.get(report.cl_ord_id, 0)
        if report.status is ReportStatus.FILL:
            units = lots_to_units(report.last_qty) if report.last_qty.is_finite() else None
            px = report.last_px
            if units is None or units <= 0 or filled + units > lp_order.units or px is None:
                return  # malformed or over-fill: ignore rather than corrupt positions
            if not px.is_finite() or px <= 0:
                return
            points = price_to_points(px, instrument.digits, ROUND_HALF_UP)
            if points is None:
                return
            filled += units
            ctx.lp_filled[report.cl_ord_id] = filled
            ctx.hedged[lp_order.symbol] = ctx.hedged.get(lp_order.symbol, 0) + signed * units
            if lp_order.purpose is Purpose.HEDGE:
                in_flight = ctx.hedging_in_flight
                in_flight[lp_order.symbol] = in_flight.get(lp_order.symbol, 0) - signed * units
            else:
                self._client_fill(out, lp_order, units, points, now)
            if filled == lp_order.units:
                self._finish(out, lp_order, None, now)
            return
        rest = lp_order.units - filled
        if lp_order.purpose is Purpose.HEDGE:
            in_flight = ctx.hedging_in_flight
            in_flight[lp_order.symbol] = in_flight.get(lp_order.symbol, 0) - signed * rest
        reason = RejectCode.LP_REJECTED if report.status is ReportStatus.REJECTED else None
        self._finish(out, lp_order, reason, now)

    def _client_fill(
        self, out: Outcome, lp_order: LpOrder, units: int, lp_price: int, now: int
    ) -> None:
        ctx = self.ctx
        account = ctx.accounts[lp_order.account_id or 0]
        order = account.orders[lp_order.order_id or 0]
        markup = account.group.markup(lp_order.symbol)
        price = lp_price + markup.ask if order.side is Side.BUY else lp_price - markup.bid
        position = account.positions.get(order.position_id) if order.position_id else None
        _, order.position_id = self.fills.fill(
            out, account, order.instrument, order.side, units, price, now,
            order=order, book="a", position=position,
        )  # fmt: skip
        order.filled += units
        order.state = (
            OrderState.FILLED if order.filled == order.units else OrderState.PARTIALLY_FILLED
        )
        if order.state is OrderState.PARTIALLY_FILLED:
            out.record(order_update(order, now))

    def _finish(self, out: Outcome, lp_order: LpOrder, reason: RejectCode | None, now: int) -> None:
        ctx = self.ctx
        del ctx.lp_orders[lp_order.cl_ord_id]
        ctx.lp_filled.pop(lp_order.cl_ord_id, None)
        if lp_order.purpose is not Purpose.CLIENT:
            return
        account = ctx.accounts[lp_order.account_id or 0]
        order = account.orders.pop(lp_order.order_id or 0)
        if order.filled < order.units:
            order.state = (
                OrderState.REJECTED if order.filled == 0 and reason else OrderState.CANCELED
            )
        out.record(order_update(order, now, reason))

    @staticmethod
    def _lp_limit(account: Account, order: Order) -> Decimal | None:
        """The LP price a limit or stop order allows: its price less the markup the client
        pays on top of the LP's fill, so the client never gets worse than the order's price."""
        if order.type is OrderType.MARKET or order.price is None:
            return None
        markup = account.group.markup(order.instrument.symbol)
        points = order.price - markup.ask if order.side is Side.BUY else order.price + markup.bid
        return to_decimal(points, order.instrument.digits) if points > 0 else None

    def _lp_for(self, symbol: str, side: Side, preferred: str | None) -> str | None:
        if preferred is not None:
            return preferred
        best = self.ctx.pricing.raw.get(symbol)
        if best is None:
            return None
        return best.ask_lp if side is Side.BUY else best.bid_lp

    def _send(
        self,
        out: Outcome,
        lp: str,
        symbol: str,
        side: Side,
        units: int,
        purpose: Purpose,
        order: Order | None,
        now: int,
        limit_price: Decimal | None = None,
    ) -> None:
        ctx = self.ctx
        lp_order = LpOrder(
            cl_ord_id=ctx.next_cl_ord_id(),
            lp=lp,
            symbol=symbol,
            side=side,
            units=units,
            purpose=purpose,
            account_id=order.account_id if order is not None else None,
            order_id=order.id if order is not None else None,
            fok=order is not None and order.tif is TimeInForce.FOK,
            time=now,
            limit_price=limit_price,
        )
        ctx.lp_orders[lp_order.cl_ord_id] = lp_order
        if purpose is Purpose.HEDGE:
            signed = units if side is Side.BUY else -units
            ctx.hedging_in_flight[symbol] = ctx.hedging_in_flight.get(symbol, 0) + signed
        out.journal.append(lp_order)
        out.lp_orders.append(lp_order)
