"""The daily cut's statements: at each 17:00 New York cut the core values every account and
every open position with the prices it holds then, and states the mid rate of each currency
it knows in USD. Reports (the Daily report's closing balance, floating P/L, equity and margin;
daily P&L; exposure; regulatory valuations) read these figures and never re-derive them.

A cut applied late (the service was down over it) is valued at the prices of when it ran:
``applied_at`` says when that was.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from execution.account_state import account_state, mark, value
from execution.context import Context
from execution.rates import Converter, PriceBook
from execution.records import CutRates, CutStatement, PositionMark
from execution.state import Account
from execution.units import to_decimal, units_to_lots

REPORTING_CURRENCY = "USD"
RATE_DIGITS = 12


def statement(ctx: Context, account: Account, cut: int, now: int) -> CutStatement:
    group = account.group
    book, converter = ctx.book(group), ctx.converter
    digits = group.currency_digits
    marks = []
    for position in sorted(account.positions.values(), key=lambda p: p.id):
        instrument = position.instrument
        close = profit = None
        marked = mark(position, group, book, converter)
        if marked is not None:
            close = to_decimal(marked[0], instrument.digits)
            profit = None if marked[1] is None else to_decimal(marked[1], digits)
        marks.append(
            PositionMark(
                position.id, account.id, instrument.symbol, position.side,
                units_to_lots(position.units), to_decimal(position.open_price, instrument.digits),
                close, profit, to_decimal(position.swap, digits), position.book,
            )
        )  # fmt: skip
    state = account_state(ctx, account, value(ctx, account), now)
    return CutStatement(cut, now, state, tuple(marks))


def cut_rates(ctx: Context, cut: int) -> CutRates:
    """Every currency of an instrument or a group, in USD, where the LPs' last aggregate
    prices convert it (a quote gone stale a moment before the cut still counts)."""
    raw: PriceBook = ctx.pricing.last  # type: ignore[assignment]  # Best quacks like Quote
    currencies = {g.currency for g in ctx.groups.values()}
    for instrument in ctx.instruments.values():
        currencies.update((instrument.base_currency, instrument.profit_currency))
    rates = []
    for currency in sorted(currencies):
        mid = _mid(ctx.converter, raw, currency)
        if mid is not None:
            rates.append((currency, mid))
    return CutRates(cut, tuple(rates))


def _mid(converter: Converter, book: PriceBook, currency: str) -> Decimal | None:
    buy = converter.rate(book, currency, REPORTING_CURRENCY, True)
    sell = converter.rate(book, currency, REPORTING_CURRENCY, False)
    if buy is None or sell is None:
        return None
    mid = (Fraction(*buy) + Fraction(*sell)) / 2
    return round(Decimal(mid.numerator) / Decimal(mid.denominator), RATE_DIGITS)
