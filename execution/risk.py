"""Pre-trade risk: every check an order passes before it may reach the book (domain.md,
Orders; issue 3 item 3). Each check answers None (pass) or the reject code."""

from __future__ import annotations

from execution.context import Context
from execution.contracts import OrderType, RejectCode, Side
from execution.instruments import Instrument
from execution.margin import Valuation, assess
from execution.rates import Quote
from execution.state import Account, Position

_NS = 1_000_000_000


def take_token(account: Account, now: int) -> bool:
    """Token bucket per account on the caller's clock, in exact integer nano-tokens."""
    group = account.group
    rate = group.orders_per_second
    if rate <= 0:
        return True
    capacity = group.order_burst * _NS
    if account.tokens < 0:
        account.tokens = capacity
    else:
        elapsed = max(0, now - account.token_time)
        account.tokens = min(capacity, account.tokens + elapsed * rate)
    account.token_time = now
    if account.tokens < _NS:
        return False
    account.tokens -= _NS
    return True


def check_account(account: Account, now: int) -> RejectCode | None:
    if account.group.orders_per_second and not take_token(account, now):
        return RejectCode.TOO_MANY_REQUESTS
    if not (account.enabled and account.client_active):
        return RejectCode.ACCOUNT_DISABLED
    if account.kyc_level < max(account.group.min_kyc_level, account.min_kyc_level):
        return RejectCode.KYC_NOT_APPROVED
    return None


def check_market(ctx: Context, instrument: Instrument, now: int) -> RejectCode | None:
    if not instrument.trade_enabled:
        return RejectCode.TRADE_DISABLED
    if instrument.sessions is not None and not instrument.sessions.is_open(now):
        return RejectCode.MARKET_CLOSED
    if instrument.symbol not in ctx.pricing.live:
        return RejectCode.OFF_QUOTES
    return None


def check_pending_price(
    instrument: Instrument, side: Side, order_type: OrderType, price: int, quote: Quote
) -> RejectCode | None:
    """A limit rests on the better side of the market, a stop on the worse side, at least
    `stops_level` away and no further than `max_pending_distance`."""
    market = quote.ask if side is Side.BUY else quote.bid
    distance = price - market
    below = (side is Side.BUY) == (order_type is OrderType.LIMIT)
    if below:
        distance = -distance
    if distance <= 0 or distance < instrument.stops_level:
        return RejectCode.INVALID_PRICE
    if instrument.max_pending_distance and distance > instrument.max_pending_distance:
        return RejectCode.INVALID_PRICE
    return None


def check_stops(
    instrument: Instrument, side: Side, entry: int, sl: int | None, tp: int | None
) -> RejectCode | None:
    """SL below / TP above the entry for buys (mirrored for sells), `stops_level` away."""
    gap = instrument.stops_level
    sign = 1 if side is Side.BUY else -1
    if sl is not None and (sl <= 0 or sign * (entry - sl) <= gap):
        return RejectCode.INVALID_STOPS
    if tp is not None and (tp <= 0 or sign * (tp - entry) <= gap):
        return RejectCode.INVALID_STOPS
    return None


def volumes_after(
    account: Account, instrument: Instrument, side: Side, units: int, closing: Position | None
) -> tuple[int, int]:
    """The symbol's (buy, sell) volumes if the order were filled."""
    leg = account.legs.get(instrument.symbol)
    buy, sell = (leg.buy_units, leg.sell_units) if leg else (0, 0)
    if closing is not None:
        return (buy - units, sell) if closing.side is Side.BUY else (buy, sell - units)
    if account.hedging:
        return (buy + units, sell) if side is Side.BUY else (buy, sell + units)
    net = buy - sell + (units if side is Side.BUY else -units)
    return max(net, 0), max(-net, 0)


def check_limits(
    ctx: Context, account: Account, instrument: Instrument, side: Side, units: int, opens: bool
) -> RejectCode | None:
    group = account.group
    if opens and group.max_positions and len(account.positions) >= group.max_positions:
        return RejectCode.LIMIT_POSITIONS
    if group.max_account_units:
        held = sum(leg.buy_units + leg.sell_units for leg in account.legs.values())
        if held + units > group.max_account_units:
            return RejectCode.LIMIT_EXPOSURE
    if group.max_group_units:
        net = ctx.group_net.get((group.name, instrument.symbol), 0)
        after = net + (units if side is Side.BUY else -units)
        if abs(after) > group.max_group_units and abs(after) > abs(net):
            return RejectCode.LIMIT_EXPOSURE
    return None


def check_margin(
    ctx: Context,
    account: Account,
    instrument: Instrument,
    side: Side,
    units: int,
    closing: Position | None,
) -> tuple[RejectCode | None, Valuation | None]:
    """Free margin after the order must not be negative, unless the order lowers margin.

    An account that cannot be valued (a price or rate it needs is missing) takes no new
    exposure; it may still reduce a position whose own profit can be valued."""
    buy, sell = volumes_after(account, instrument, side, units, closing)
    group = account.group.name
    book = ctx.pricing.books[group]
    version = ctx.pricing.versions[group]
    held = account.legs.get(instrument.symbol)
    reduces = held is not None and buy <= held.buy_units and sell <= held.sell_units
    # a fill realises or charges money in the profit currency: its rate must be there
    closes_side = side is Side.SELL if reduces else side is Side.BUY
    if (
        ctx.converter.rate(book, instrument.profit_currency, account.group.currency, closes_side)
        is None
    ):
        return RejectCode.OFF_QUOTES, None
    assessed = assess(account, book, ctx.converter, (instrument, buy, sell), version)
    if assessed is None:
        return (None, None) if reduces else (RejectCode.OFF_QUOTES, None)
    before, after, symbol_margin = assessed
    # the symbol's margin once filled internally at these prices, so the next order of this
    # account need not recompute it (`remember_margin`)
    ctx.expected_margin = (account.id, instrument.symbol, buy, sell, version, symbol_margin)
    if after.margin <= before.margin:
        return None, before
    if account.in_margin_call and account.group.block_new_on_margin_call:
        return RejectCode.MARGIN_CALL, before
    if after.equity - after.margin < 0:
        return RejectCode.NO_MONEY, before
    return None, before


def remember_margin(ctx: Context, account: Account) -> None:
    """After an internal fill: cache the margin `check_margin` computed for the new volumes."""
    expected = ctx.expected_margin
    if expected is None or expected[0] != account.id:
        return
    _, symbol, buy, sell, version, margin = expected
    leg = account.legs.get(symbol)
    if leg is not None and (leg.buy_units, leg.sell_units) == (buy, sell):
        leg.margin, leg.margin_version = margin, version
    ctx.expected_margin = None
