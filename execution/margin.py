"""Margin, profit and account valuation (domain.md, Margin and Account state).

Every figure is an exact rational rounded once to minor units of the deposit currency: margin
per symbol side, profit per position, floating exactly as the deal closing it would realise
it at the same prices, so equity before a close is the balance after it. Margin level is
rounded half up to 0.01 percent.
"""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import Side
from execution.groups import AccountGroup
from execution.instruments import CalcMode, Instrument
from execution.rates import Converter, PriceBook, Quote
from execution.state import Account, Leg
from execution.units import VOLUME_SCALE, div_round


def margin_money(
    instrument: Instrument,
    leverage: int,
    units: int,
    buy: bool,
    price: int,
    rate: tuple[int, int],
    money_scale: int,
) -> int:
    """Margin of `units` on one side, in minor units of the deposit currency.

    `price` is the instrument's own market price (ask for buys, bid for sells) and `rate` the
    margin-currency -> deposit-currency rate.
    """
    rate_num, rate_den = instrument.buy_rate if buy else instrument.sell_rate
    num = units * instrument.contract_num * rate_num * rate[0] * money_scale
    den = VOLUME_SCALE * instrument.contract_den * rate_den * rate[1]
    mode = instrument.calc_mode
    if mode is CalcMode.FOREX:
        den *= leverage
    elif mode is not CalcMode.FOREX_NO_LEVERAGE:
        num *= price
        den *= instrument.scale
        if mode is CalcMode.CFDLEVERAGE:
            den *= leverage
        elif mode is CalcMode.CFDINDEX:
            num *= instrument.tick_ratio[0]
            den *= instrument.tick_ratio[1]
    return div_round(num, den)


def profit_money(
    instrument: Instrument, points_units: int, rate: tuple[int, int], money_scale: int
) -> int:
    """(price difference in points x volume units) as money in the deposit currency."""
    num = points_units * instrument.contract_num * rate[0] * money_scale
    den = instrument.scale * VOLUME_SCALE * instrument.contract_den * rate[1]
    return div_round(num, den)


def leg_margin(
    instrument: Instrument,
    group: AccountGroup,
    buy_units: int,
    sell_units: int,
    quote: Quote,
    book: PriceBook,
    converter: Converter,
    own_leverage: int | None = None,
) -> int | None:
    """Margin of both sides of one symbol, with the hedged-margin rule for overlapped volume,
    at the group's leverage or the account's own (`AccountGroup.leverage_for`)."""
    leverage = group.leverage_for(instrument.symbol_group, own_leverage)
    scale = group.money_scale
    buy_margin = sell_margin = 0
    buy_rate = sell_rate = (1, 1)
    if buy_units:
        rate = converter.rate(book, instrument.margin_currency, group.currency, True)
        if rate is None:
            return None
        buy_rate = rate
        buy_margin = margin_money(instrument, leverage, buy_units, True, quote.ask, rate, scale)
    if sell_units:
        rate = converter.rate(book, instrument.margin_currency, group.currency, False)
        if rate is None:
            return None
        sell_rate = rate
        sell_margin = margin_money(instrument, leverage, sell_units, False, quote.bid, rate, scale)
    if not (buy_units and sell_units):
        return buy_margin + sell_margin
    if instrument.hedged_larger_leg:
        return max(buy_margin, sell_margin)
    overlap = min(buy_units, sell_units)
    overlap_buy = margin_money(instrument, leverage, overlap, True, quote.ask, buy_rate, scale)
    overlap_sell = margin_money(instrument, leverage, overlap, False, quote.bid, sell_rate, scale)
    hedged_num, hedged_den = instrument.hedged_ratio
    hedged = div_round((overlap_buy + overlap_sell) * hedged_num, hedged_den)
    return buy_margin - overlap_buy + sell_margin - overlap_sell + hedged


def leg_profit(
    leg: Leg, quote: Quote, group: AccountGroup, book: PriceBook, converter: Converter
) -> int | None:
    """Floating P/L of a symbol (swaps apart): each position rounded on its own, buys closing
    at the bid and sells at the ask, as `position_profit` realises them."""
    instrument = leg.instrument
    currency, scale = instrument.profit_currency, group.money_scale
    buy_rate = sell_rate = None
    if leg.buy_units:
        buy_rate = converter.rate(book, currency, group.currency, True)
        if buy_rate is None:
            return None
    if leg.sell_units:
        sell_rate = converter.rate(book, currency, group.currency, False)
        if sell_rate is None:
            return None
    total = 0
    for position in leg.positions.values():
        if position.side is Side.BUY:
            raw = quote.bid * position.units - position.notional
            total += profit_money(instrument, raw, buy_rate or (0, 1), scale)
        else:
            raw = position.notional - quote.ask * position.units
            total += profit_money(instrument, raw, sell_rate or (0, 1), scale)
    return total


def position_profit(
    instrument: Instrument,
    side: Side,
    units: int,
    notional: int,
    close_price: int,
    group: AccountGroup,
    book: PriceBook,
    converter: Converter,
) -> int | None:
    buy = side is Side.BUY
    rate = converter.rate(book, instrument.profit_currency, group.currency, buy)
    if rate is None:
        return None
    raw = close_price * units - notional if buy else notional - close_price * units
    return profit_money(instrument, raw, rate, group.money_scale)


class Valuation:
    __slots__ = ("equity", "margin")

    def __init__(self, equity: int, margin: int) -> None:
        self.equity = equity
        self.margin = margin

    @property
    def free_margin(self) -> int:
        return self.equity - self.margin

    def level(self) -> Decimal | None:
        """Margin level in percent to 0.01, halves up; undefined (None) without margin."""
        if self.margin <= 0:
            return None
        return margin_level(self.equity, self.margin)


def margin_level(equity: int, margin: int) -> Decimal:
    """equity / margin x 100 in percent, rounded once to 0.01, halves away from zero (half up):
    the one rounding of margin level everywhere."""
    return Decimal(div_round(equity * 10_000, margin)).scaleb(-2)


def value_account(
    account: Account,
    book: PriceBook,
    converter: Converter,
    what_if: tuple[Instrument, int, int] | None = None,
) -> Valuation | None:
    """Equity and margin now; with `what_if` = (instrument, buy units, sell units) the margin
    is computed as if that symbol's sides held those volumes. None when a price is missing."""
    assessed = assess(account, book, converter, what_if)
    if assessed is None:
        return None
    return assessed[1] if what_if is not None else assessed[0]


def assess(
    account: Account,
    book: PriceBook,
    converter: Converter,
    what_if: tuple[Instrument, int, int] | None,
    version: int = -1,
) -> tuple[Valuation, Valuation, int] | None:
    """The account now, as if `what_if` were filled, and that symbol's margin then.

    `version` is the group book's price version: a leg valued at that version (and unchanged
    since) reuses its profit and margin; -1 values everything afresh.
    """
    group = account.group
    equity = account.balance + account.credit
    margin = 0
    replaced = 0
    what_if_symbol = what_if[0].symbol if what_if is not None else None
    for symbol, leg in account.legs.items():
        fresh_profit = version >= 0 and leg.profit_version == version
        fresh_margin = version >= 0 and leg.margin_version == version
        if not (fresh_profit and fresh_margin):
            quote = book.get(symbol)
            if quote is None:
                return None
            if not fresh_profit:
                profit = leg_profit(leg, quote, group, book, converter)
                if profit is None:
                    return None
                leg.profit, leg.profit_version = profit, version
            if not fresh_margin:
                leg_m = leg_margin(
                    leg.instrument, group, leg.buy_units, leg.sell_units, quote, book, converter,
                    account.leverage,
                )  # fmt: skip
                if leg_m is None:
                    return None
                leg.margin, leg.margin_version = leg_m, version
        equity += leg.profit + leg.swap
        margin += leg.margin
        if symbol == what_if_symbol:
            replaced = leg.margin
    now = Valuation(equity, margin)
    if what_if is None:
        return now, now, 0
    instrument, buy_units, sell_units = what_if
    quote = book.get(instrument.symbol)
    if quote is None:
        return None
    leg_m = leg_margin(
        instrument, group, buy_units, sell_units, quote, book, converter, account.leverage
    )
    if leg_m is None:
        return None
    return now, Valuation(equity, margin - replaced + leg_m), leg_m
