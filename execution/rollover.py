"""Swaps: the daily rollover at 17:00 New York (domain.md, Swaps and commissions).

A rollover happens at each 17:00 America/New_York on Monday to Friday; the one on the symbol's
triple-swap weekday charges three days (it covers the weekend). Swap accrues on the position
and is realised into the balance with the deal that closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from brokerstack.times import to_datetime, to_ns
from execution.context import Context
from execution.contracts import Side
from execution.instruments import SwapMode
from execution.records import Outcome, position_update
from execution.state import Account, Position
from execution.units import VOLUME_SCALE, div_round

NEW_YORK = ZoneInfo("America/New_York")
CUT = time(17, 0)


def _cut_on(day: datetime) -> datetime:
    return datetime.combine(day.date(), CUT, tzinfo=NEW_YORK)


def next_cut(now: int) -> int:
    """The first 17:00 New York strictly after `now` (any weekday), in ns."""
    local = to_datetime(now).astimezone(NEW_YORK)
    cut = _cut_on(local)
    if to_ns(cut) <= now:
        cut = _cut_on(local + timedelta(days=1))
    return to_ns(cut)


def rollovers(after: int, until: int) -> Iterator[tuple[int, int]]:
    """(instant ns, New York weekday) of every weekday rollover in (after, until]."""
    at = next_cut(after)
    while at <= until:
        weekday = to_datetime(at).astimezone(NEW_YORK).weekday()
        if weekday < 5:
            yield at, weekday
        at = next_cut(at)


def position_swap(ctx: Context, account: Account, position: Position, days: int) -> int | None:
    """One rollover's swap for a position in minor units; None when no rate is quoted."""
    instrument = position.instrument
    group = account.group
    buy = position.side is Side.BUY
    per_day = Fraction(instrument.swap_long if buy else instrument.swap_short) * days
    if not per_day:
        return 0
    units = position.units
    if instrument.swap_mode is SwapMode.MONEY_PER_LOT:
        amount = per_day * units * group.money_scale / VOLUME_SCALE
        return div_round(amount.numerator, amount.denominator)
    book = ctx.book(group)
    rate = ctx.converter.rate(book, instrument.profit_currency, group.currency, buy)
    if rate is None:
        return None
    value = per_day * units * instrument.contract_num * rate[0] * group.money_scale
    value /= instrument.scale * VOLUME_SCALE * instrument.contract_den * rate[1]
    if instrument.swap_mode is SwapMode.INTEREST:
        quote = book.get(instrument.symbol)
        if quote is None:
            return None
        price = quote.bid if buy else quote.ask
        value = value * price / 100 / 360
    return div_round(value.numerator, value.denominator)


def apply_rollover(ctx: Context, out: Outcome, at: int, weekday: int) -> None:
    """Accrue one rollover on every position opened before it."""
    for account in ctx.accounts.values():
        digits = account.group.currency_digits
        for position in list(account.positions.values()):
            if position.opened_at >= at:
                continue
            days = 3 if weekday == position.instrument.triple_swap_weekday else 1
            amount = position_swap(ctx, account, position, days)
            if amount:
                account.accrue_swap(position, amount)
                out.journal.append(position_update(position, digits, at))
