"""An account valued now: journaled positions priced at the account group's last quotes."""

from __future__ import annotations

from decimal import Decimal

from redis.asyncio import Redis

from api.accounts import Accounts, OwnedAccount
from api.margin import AccountTerms, OpenPosition, Price, Valuation, value_account
from api.market import Market
from api.quotes import last_prices
from api.schemas import AccountSummary, Position
from execution.contracts import Side


async def valuation(
    accounts: Accounts, market: Market, redis: Redis, account: OwnedAccount
) -> tuple[Valuation, list[Position], AccountSummary]:
    balance, credit = await accounts.money(account.id)
    rows = await accounts.open_positions(account.id)
    specs = await market.specs()
    held = {row["symbol"] for row in rows}
    # Conversion pairs too: any listed symbol made of two currencies in play may be needed.
    currencies = {account.currency}
    for symbol in held:
        spec = specs.get(symbol)
        if spec is not None:
            currencies.update((spec.profit_currency, spec.margin_currency))
    pairs = {a + b for a in currencies for b in currencies if a != b and a + b in specs}
    prices = await last_prices(redis, account.group, held | pairs)

    def price(symbol: str) -> Price | None:
        return prices.get(symbol)

    positions = [
        OpenPosition(r["symbol"], Side(r["side"]), r["volume"], r["open_price"], r["swap"])
        for r in rows
    ]
    terms = AccountTerms(account.currency, balance, credit, account.leverage, account.retail)
    valued = value_account(terms, positions, specs, price)
    listed = [
        Position(
            **row,
            current_price=_closing_price(prices.get(row["symbol"]), Side(row["side"])),
            profit=profit,
        )
        for row, profit in zip(rows, valued.profits, strict=True)
    ]
    summary = AccountSummary(
        account_id=account.id,
        currency=account.currency,
        balance=balance,
        credit=credit,
        floating_profit=valued.floating_profit,
        equity=valued.equity,
        margin=valued.margin,
        free_margin=valued.free_margin,
        margin_level=valued.margin_level,
        unpriced_symbols=list(valued.unpriced_symbols),
    )
    return valued, listed, summary


def _closing_price(price: Price | None, side: Side) -> Decimal | None:
    if price is None:
        return None
    return price.bid if side is Side.BUY else price.ask
