"""Order management: place, modify, cancel, close, close-by; pending orders and SL/TP fired by
price on the right side (buys on the ask, sells on the bid); expiry (domain.md, Orders)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import UNSET, UnsetType

from execution import risk
from execution.context import Context
from execution.contracts import (
    Accepted,
    CancelOrder,
    CloseBy,
    ClosePosition,
    DealReason,
    ModifyOrder,
    ModifyPosition,
    OrderState,
    OrderType,
    PlaceOrder,
    RejectCode,
    Rejected,
    Reply,
    Side,
    TimeInForce,
)
from execution.dealing import Dealer
from execution.fills import Fills
from execution.instruments import Instrument
from execution.records import Outcome, order_update, position_update
from execution.rollover import next_cut
from execution.state import Account, Order, Position
from execution.units import lots_to_units, to_decimal


def _reject(request_id: str, code: RejectCode, message: str = "") -> Rejected:
    return Rejected(request_id=request_id, code=code, message=message)


def _points(instrument: Instrument, value: Decimal | None) -> int | Literal[False] | None:
    """Points of an optional price; False when given but not a valid price."""
    if value is None:
        return None
    points = instrument.to_points(value)
    return False if points is None or points <= 0 else points


def _merged(
    instrument: Instrument, sent: Decimal | UnsetType | None, current: int | None
) -> int | Literal[False] | None:
    """A level after a modification: unchanged when not sent, removed by None."""
    return current if sent is UNSET else _points(instrument, sent)


class OrderManager:
    def __init__(self, ctx: Context, fills: Fills, dealer: Dealer) -> None:
        self.ctx = ctx
        self.fills = fills
        self.dealer = dealer

    # --- commands -------------------------------------------------------------------------

    def place(self, out: Outcome, cmd: PlaceOrder, account: Account, now: int) -> Reply:
        ctx = self.ctx
        rid = cmd.request_id
        instrument = ctx.instruments.get(cmd.symbol)
        if instrument is None:
            return _reject(rid, RejectCode.UNKNOWN_SYMBOL, cmd.symbol)
        code = risk.check_account(account, now)
        if code is not None:
            return _reject(rid, code)
        units = lots_to_units(cmd.volume)
        if units is None or not instrument.valid_units(units):
            return _reject(rid, RejectCode.INVALID_VOLUME, str(cmd.volume))
        price = sl = tp = None
        if cmd.price is not None or cmd.sl is not None or cmd.tp is not None:
            price, sl, tp = (
                _points(instrument, cmd.price),
                _points(instrument, cmd.sl),
                _points(instrument, cmd.tp),
            )
            if price is False:
                return _reject(rid, RejectCode.INVALID_PRICE)
            if sl is False or tp is False:
                return _reject(rid, RejectCode.INVALID_STOPS)
        if cmd.expires_at is not None and cmd.expires_at <= now:
            return _reject(rid, RejectCode.INVALID_EXPIRATION)
        if cmd.type is OrderType.MARKET and cmd.price is not None:
            return _reject(rid, RejectCode.INVALID_PRICE, "a market order takes no price")
        closing: Position | None = None
        if cmd.position_id is not None:
            if not account.hedging:
                return _reject(rid, RejectCode.HEDGING_ONLY, "netting closes by opposite orders")
            closing = account.positions.get(cmd.position_id)
            if closing is None or closing.instrument is not instrument or closing.side is cmd.side:
                return _reject(rid, RejectCode.UNKNOWN_POSITION)
            if units > closing.units:
                return _reject(rid, RejectCode.INVALID_VOLUME, "more than the position")
        code = risk.check_market(ctx, instrument, now)
        if code is not None:
            return _reject(rid, code)
        quote = ctx.book(account.group)[instrument.symbol]
        market = quote.ask if cmd.side is Side.BUY else quote.bid
        order = Order(
            ctx.next_order_id(),
            account.id,
            instrument,
            cmd.side,
            cmd.type,
            cmd.tif,
            units,
            now,
            rid,
        )
        order.price, order.sl, order.tp = price or None, sl or None, tp or None
        order.position_id = cmd.position_id
        order.expires_at = cmd.expires_at
        if cmd.type is not OrderType.MARKET:
            if order.price is None:
                return _reject(rid, RejectCode.INVALID_PRICE, "pending orders need a price")
            if cmd.tif in (TimeInForce.IOC, TimeInForce.FOK):
                return self._immediate_limit(out, account, order, market, now)
            code = risk.check_pending_price(instrument, cmd.side, cmd.type, order.price, quote)
            if code is None:
                code = risk.check_stops(instrument, cmd.side, order.price, order.sl, order.tp)
            if code is not None:
                return _reject(rid, code)
            if cmd.tif is TimeInForce.DAY:
                order.expires_at = next_cut(now)
            account.orders[order.id] = order
            ctx.pending.setdefault(instrument.symbol, {})[order.id] = order
            out.record(order_update(order, now))
            return Accepted(request_id=rid, order_id=order.id, state=order.state)
        code = risk.check_stops(instrument, cmd.side, market, order.sl, order.tp)
        if code is not None:
            return _reject(rid, code)
        return self._market(out, account, order, closing, now)

    def _immediate_limit(
        self, out: Outcome, account: Account, order: Order, market: int, now: int
    ) -> Reply:
        assert order.price is not None
        marketable = market <= order.price if order.side is Side.BUY else market >= order.price
        if order.type is OrderType.LIMIT and marketable:
            code = risk.check_stops(order.instrument, order.side, market, order.sl, order.tp)
            if code is not None:
                return _reject(order.request_id or "", code)
            closing = account.positions.get(order.position_id) if order.position_id else None
            return self._market(out, account, order, closing, now)
        order.state = OrderState.CANCELED
        out.record(order_update(order, now))
        return Accepted(request_id=order.request_id or "", order_id=order.id, state=order.state)

    def _market(
        self, out: Outcome, account: Account, order: Order, closing: Position | None, now: int
    ) -> Reply:
        rid = order.request_id or ""
        code = self._pre_trade(account, order, closing)
        valuation = None
        if code is None:
            code, valuation = risk.check_margin(
                self.ctx, account, order.instrument, order.side, order.units, closing
            )
        if code is None:
            code = self.dealer.execute(out, account, order, now, valuation, position=closing)
        if code is RejectCode.REQUOTE:
            quote = self.ctx.book(account.group)[order.instrument.symbol]
            digits = order.instrument.digits
            return Rejected(
                request_id=rid,
                code=code,
                message="the price moved: here is the current one",
                bid=to_decimal(quote.bid, digits),
                ask=to_decimal(quote.ask, digits),
            )
        if code is not None:
            return _reject(rid, code)
        if order.state is not OrderState.ROUTED:
            risk.remember_margin(self.ctx, account)
            out.record(order_update(order, now))
        return Accepted(
            request_id=rid,
            order_id=order.id,
            state=order.state,
            position_id=order.position_id,
            deal_ids=order.deal_ids,
        )

    def _pre_trade(
        self, account: Account, order: Order, closing: Position | None
    ) -> RejectCode | None:
        opens = closing is None and (account.hedging or order.instrument.symbol not in account.net)
        return risk.check_limits(
            self.ctx, account, order.instrument, order.side, order.units, opens
        )

    def modify(self, out: Outcome, cmd: ModifyOrder, account: Account, now: int) -> Reply:
        """Change only what the command sends; None removes a stop or the expiry."""
        rid = cmd.request_id
        order = account.orders.get(cmd.order_id)
        if order is None or order.state is not OrderState.PLACED:
            return _reject(rid, RejectCode.UNKNOWN_ORDER)
        instrument = order.instrument
        price = order.price if cmd.price is UNSET else _points(instrument, cmd.price)
        sl = _merged(instrument, cmd.sl, order.sl)
        tp = _merged(instrument, cmd.tp, order.tp)
        if price is False or price is None:
            return _reject(rid, RejectCode.INVALID_PRICE)
        if sl is False or tp is False:
            return _reject(rid, RejectCode.INVALID_STOPS)
        expires_at = order.expires_at if cmd.expires_at is UNSET else cmd.expires_at
        if cmd.expires_at is not UNSET:
            if order.tif is TimeInForce.DAY:
                return _reject(rid, RejectCode.INVALID_EXPIRATION, "a day order expires at the cut")
            if expires_at is not None and expires_at <= now:
                return _reject(rid, RejectCode.INVALID_EXPIRATION)
        quote = self.ctx.book(account.group).get(instrument.symbol)
        if quote is None:
            return _reject(rid, RejectCode.OFF_QUOTES)
        code = risk.check_pending_price(instrument, order.side, order.type, price, quote)
        if code is None:
            code = risk.check_stops(instrument, order.side, price, sl, tp)
        if code is not None:
            return _reject(rid, code)
        order.price, order.sl, order.tp, order.expires_at = price, sl, tp, expires_at
        out.record(order_update(order, now))
        return Accepted(request_id=rid, order_id=order.id, state=order.state)

    def cancel(self, out: Outcome, cmd: CancelOrder, account: Account, now: int) -> Reply:
        order = account.orders.get(cmd.order_id)
        if order is None or order.state is not OrderState.PLACED:
            return _reject(cmd.request_id, RejectCode.UNKNOWN_ORDER)
        self._end(out, account, order, OrderState.CANCELED, now)
        return Accepted(request_id=cmd.request_id, order_id=order.id, state=order.state)

    def modify_position(
        self, out: Outcome, cmd: ModifyPosition, account: Account, now: int
    ) -> Reply:
        """Change only the levels the command sends; None removes one."""
        rid = cmd.request_id
        position = account.positions.get(cmd.position_id)
        if position is None:
            return _reject(rid, RejectCode.UNKNOWN_POSITION)
        instrument = position.instrument
        sl = _merged(instrument, cmd.sl, position.sl)
        tp = _merged(instrument, cmd.tp, position.tp)
        if sl is False or tp is False:
            return _reject(rid, RejectCode.INVALID_STOPS)
        quote = self.ctx.book(account.group).get(instrument.symbol)
        if quote is None:
            return _reject(rid, RejectCode.OFF_QUOTES)
        close_price = quote.bid if position.side is Side.BUY else quote.ask
        code = risk.check_stops(instrument, position.side, close_price, sl, tp)
        if code is not None:
            return _reject(rid, code)
        position.sl, position.tp = sl, tp
        self.ctx.protect(position)
        out.record(position_update(position, account.group.currency_digits, now))
        return Accepted(request_id=rid, position_id=position.id)

    def close(self, out: Outcome, cmd: ClosePosition, account: Account, now: int) -> Reply:
        rid = cmd.request_id
        position = account.positions.get(cmd.position_id)
        if position is None:
            return _reject(rid, RejectCode.UNKNOWN_POSITION)
        units = position.units if cmd.volume is None else lots_to_units(cmd.volume)
        instrument = position.instrument
        if units is None or units <= 0 or units > position.units or units % instrument.step_units:
            return _reject(rid, RejectCode.INVALID_VOLUME)
        code = risk.check_account(account, now) or risk.check_market(self.ctx, instrument, now)
        if code is not None:
            return _reject(rid, code)
        side = Side.SELL if position.side is Side.BUY else Side.BUY
        order = Order(
            self.ctx.next_order_id(),
            account.id,
            instrument,
            side,
            OrderType.MARKET,
            TimeInForce.IOC,
            units,
            now,
            rid,
        )
        order.position_id = position.id
        return self._market(out, account, order, position if account.hedging else None, now)

    def close_by(self, out: Outcome, cmd: CloseBy, account: Account, now: int) -> Reply:
        rid = cmd.request_id
        if not account.hedging:
            return _reject(rid, RejectCode.HEDGING_ONLY)
        first = account.positions.get(cmd.position_id)
        second = account.positions.get(cmd.opposite_position_id)
        if first is None or second is None or first is second:
            return _reject(rid, RejectCode.UNKNOWN_POSITION)
        if first.instrument is not second.instrument or first.side is second.side:
            return _reject(rid, RejectCode.UNKNOWN_POSITION, "close-by needs opposite positions")
        sessions = first.instrument.sessions
        if sessions is not None and not sessions.is_open(now):
            return _reject(rid, RejectCode.MARKET_CLOSED)
        if not self.fills.closable(account, first):
            return _reject(rid, RejectCode.OFF_QUOTES)
        deals = self.fills.close_by(out, account, first, second, now)
        return Accepted(request_id=rid, position_id=first.id, deal_ids=deals)

    # --- price and timer driven -----------------------------------------------------------

    def on_price(self, out: Outcome, symbol: str, now: int) -> None:
        self._stops(out, symbol, now)
        self._triggers(out, symbol, now)

    def _stops(self, out: Outcome, symbol: str, now: int) -> None:
        protected = self.ctx.protected.get(symbol)
        if not protected:
            return
        accounts = self.ctx.accounts
        for position in list(protected.values()):
            if position.units == 0:
                continue
            account = accounts[position.account_id]
            quote = self.ctx.book(account.group)[symbol]
            buy = position.side is Side.BUY
            price = quote.bid if buy else quote.ask
            sl, tp = position.sl, position.tp
            reason = None
            if sl is not None and (price <= sl if buy else price >= sl):
                reason = DealReason.SL
            elif tp is not None and (price >= tp if buy else price <= tp):
                reason = DealReason.TP
            # a position whose profit cannot be valued waits (its account is alerted)
            if reason is not None and self.fills.closable(account, position):
                self.fills.close_at_market(out, account, position, position.units, now, reason)

    def _triggers(self, out: Outcome, symbol: str, now: int) -> None:
        pending = self.ctx.pending.get(symbol)
        if not pending:
            return
        accounts = self.ctx.accounts
        for order in list(pending.values()):
            account = accounts[order.account_id]
            quote = self.ctx.book(account.group)[symbol]
            price = order.price
            assert price is not None
            buy = order.side is Side.BUY
            market = quote.ask if buy else quote.bid
            limit = order.type is OrderType.LIMIT
            if not (market <= price if buy == limit else market >= price):
                continue
            del pending[order.id]
            self._fire(out, account, order, now)

    def _fire(self, out: Outcome, account: Account, order: Order, now: int) -> None:
        """A triggered pending order executes at market, after the same risk checks; one that
        closes a hedging position is cancelled if the position is gone or smaller."""
        del account.orders[order.id]
        closing = None
        code = risk.check_market(self.ctx, order.instrument, now)
        if code is None and order.position_id is not None and account.hedging:
            closing = account.positions.get(order.position_id)
            if closing is None or closing.units < order.units:
                code = RejectCode.UNKNOWN_POSITION
        if code is None:
            code = self._pre_trade(account, order, closing)
        valuation = None
        if code is None:
            code, valuation = risk.check_margin(
                self.ctx, account, order.instrument, order.side, order.units, closing
            )
        if code is None:
            code = self.dealer.execute(
                out, account, order, now, valuation, DealReason.PENDING, closing
            )
        if code is not None:
            order.state = OrderState.CANCELED
            out.record(order_update(order, now, code))
        elif order.state is not OrderState.ROUTED:
            out.record(order_update(order, now))

    def expire(self, out: Outcome, now: int) -> None:
        for pending in self.ctx.pending.values():
            for order in list(pending.values()):
                if order.expires_at is not None and order.expires_at <= now:
                    self._end(
                        out, self.ctx.accounts[order.account_id], order, OrderState.EXPIRED, now
                    )

    def _end(
        self, out: Outcome, account: Account, order: Order, state: OrderState, now: int
    ) -> None:
        del account.orders[order.id]
        self.ctx.pending[order.instrument.symbol].pop(order.id, None)
        order.state = state
        out.record(order_update(order, now))
