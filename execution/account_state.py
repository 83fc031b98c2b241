"""What the core says about an account: its valuation as an `AccountState` event (the one
valuation every reader serves), and the alert when an account with exposure cannot be valued.

Accounts are re-stated when something about them changed: a price of a symbol their valuation
reads (`Context.exposed`), or a record of theirs (deal, position, order, balance). The shell
asks for the states of the changed accounts a few times a second, not on every price.
"""

from __future__ import annotations

from execution.context import Context
from execution.contracts import AccountState, PositionValue, Side, ValuationAlert
from execution.groups import AccountGroup
from execution.margin import Valuation, assess, leg_margin, leg_profit, position_profit
from execution.rates import Converter, PriceBook
from execution.records import Outcome
from execution.state import Account, Position
from execution.units import to_decimal


def unpriced(ctx: Context, account: Account) -> tuple[str, ...]:
    """The symbols held whose price, or a conversion rate they need, is missing."""
    group = account.group
    book, converter = ctx.book(group), ctx.converter
    missing = []
    for symbol, leg in account.legs.items():
        quote = book.get(symbol)
        if (
            quote is None
            or leg_profit(leg, quote, group, book, converter) is None
            or leg_margin(
                leg.instrument,
                group,
                leg.buy_units,
                leg.sell_units,
                quote,
                book,
                converter,
                account.leverage,
            )
            is None
        ):
            missing.append(symbol)
    return tuple(sorted(missing))


def note_valuation(
    ctx: Context, out: Outcome, account: Account, valuation: Valuation | None, now: int
) -> None:
    """Keep the account's valued flag and last figures; alert when it changes."""
    if valuation is not None:
        account.last_valuation = (valuation.equity, valuation.margin)
        if account.unvalued:
            account.unvalued = False
            out.record(ValuationAlert(account_id=account.id, valued=True, unpriced=(), time=now))
        return
    if account.legs and not account.unvalued:
        account.unvalued = True
        out.record(
            ValuationAlert(
                account_id=account.id, valued=False, unpriced=unpriced(ctx, account), time=now
            )
        )


def value(ctx: Context, account: Account) -> Valuation | None:
    """The account valued now (reusing the legs valued at the current prices)."""
    group = account.group
    assessed = assess(
        account, ctx.book(group), ctx.converter, None, ctx.pricing.versions[group.name]
    )
    return assessed[0] if assessed is not None else None


def mark(
    position: Position, group: AccountGroup, book: PriceBook, converter: Converter
) -> tuple[int, int | None] | None:
    """The price (points) a position would close at now and its profit without swap (minor
    units; None when a conversion rate is missing); None while its symbol is unpriced."""
    quote = book.get(position.instrument.symbol)
    if quote is None:
        return None
    close = quote.bid if position.side is Side.BUY else quote.ask
    profit = position_profit(
        position.instrument, position.side, position.units, position.notional, close, group,
        book, converter,
    )  # fmt: skip
    return close, profit


def account_state(
    ctx: Context, account: Account, valuation: Valuation | None, now: int
) -> AccountState:
    """The event for an account and its valuation (None: it cannot be valued now, and the
    state carries the last figures it had)."""
    group = account.group
    book, converter = ctx.book(group), ctx.converter
    if valuation is not None:
        equity, margin = valuation.equity, valuation.margin
    else:
        equity, margin = account.last_valuation or (account.balance + account.credit, 0)
    digits = group.currency_digits
    positions = []
    for position in account.positions.values():
        price = profit = None
        marked = mark(position, group, book, converter)
        if marked is not None:
            close, result = marked
            price = to_decimal(close, position.instrument.digits)
            if result is not None:
                profit = to_decimal(result + position.swap, digits)
        positions.append(PositionValue(position.id, price, profit))
    level = Valuation(equity, margin).level()
    return AccountState(
        account_id=account.id,
        currency=group.currency,
        balance=to_decimal(account.balance, digits),
        credit=to_decimal(account.credit, digits),
        floating_profit=to_decimal(equity - account.balance - account.credit, digits),
        equity=to_decimal(equity, digits),
        margin=to_decimal(margin, digits),
        free_margin=to_decimal(equity - margin, digits),
        margin_level=level,
        valued=valuation is not None,
        unpriced=() if valuation is not None else unpriced(ctx, account),
        in_margin_call=account.in_margin_call,
        positions=tuple(positions),
        time=now,
    )


def publish_states(ctx: Context, now: int) -> Outcome:
    """The states of the accounts changed since the last call (and any alerts they raise)."""
    out = Outcome()
    changed, ctx.changed = ctx.changed, set()
    accounts = ctx.accounts
    for account_id in sorted(changed):
        account = accounts.get(account_id)
        if account is None:
            continue
        valuation = value(ctx, account)
        note_valuation(ctx, out, account, valuation, now)
        out.events.append(account_state(ctx, account, valuation, now))
    return out
