"""The margin monitor: margin call and stop-out, for the accounts a price concerns only
(domain.md, Account state)."""

from __future__ import annotations

from decimal import Decimal

from execution.account_state import note_valuation
from execution.context import Context
from execution.contracts import DealReason, MarginCall, Side, StopOut
from execution.fills import Fills
from execution.margin import Valuation, position_profit, value_account
from execution.records import Outcome
from execution.state import Account, Position
from execution.units import to_decimal


class MarginMonitor:
    def __init__(self, ctx: Context, fills: Fills) -> None:
        self.ctx = ctx
        self.fills = fills

    def on_price(self, out: Outcome, symbol: str, now: int) -> None:
        accounts = self.ctx.accounts
        for account_id in list(self.ctx.exposed.get(symbol, ())):
            self.check(out, accounts[account_id], now)

    def check(self, out: Outcome, account: Account, now: int) -> None:
        """Margin call and stop-out; an account that cannot be valued is never skipped in
        silence: it is flagged and alerted (and blocked from new exposure by risk)."""
        ctx = self.ctx
        group = account.group
        valuation = value_account(account, ctx.book(group), ctx.converter)
        note_valuation(ctx, out, account, valuation, now)
        if valuation is None:
            return
        if group.below(group.call_ratio, valuation.equity, valuation.margin):
            if not account.in_margin_call:
                account.in_margin_call = True
                level, equity, margin = self._figures(account, valuation)
                out.record(
                    MarginCall(
                        account_id=account.id,
                        margin_level=level,
                        equity=equity,
                        margin=margin,
                        time=now,
                    )
                )
        else:
            account.in_margin_call = False
        while account.positions and group.below(
            group.stop_ratio, valuation.equity, valuation.margin
        ):
            worst = self._largest_loss(account)
            if worst is None:
                return
            level, equity, margin = self._figures(account, valuation)
            out.record(
                StopOut(
                    account_id=account.id, position_id=worst.id, margin_level=level,
                    equity=equity, margin=margin, time=now,
                )
            )  # fmt: skip
            self._close(out, account, worst, now)
            next_valuation = value_account(account, ctx.book(group), ctx.converter)
            note_valuation(ctx, out, account, next_valuation, now)
            if next_valuation is None:
                return
            valuation = next_valuation

    @staticmethod
    def _figures(account: Account, valuation: Valuation) -> tuple[Decimal | None, Decimal, Decimal]:
        digits = account.group.currency_digits
        equity = to_decimal(valuation.equity, digits)
        return valuation.level(), equity, to_decimal(valuation.margin, digits)

    def _largest_loss(self, account: Account) -> Position | None:
        ctx = self.ctx
        book = ctx.book(account.group)
        worst: Position | None = None
        worst_result = 0
        for position in account.positions.values():
            quote = book.get(position.instrument.symbol)
            if quote is None:
                continue
            price = quote.bid if position.side is Side.BUY else quote.ask
            profit = position_profit(
                position.instrument, position.side, position.units, position.notional, price,
                account.group, book, ctx.converter,
            )  # fmt: skip
            if profit is None:
                continue
            result = profit + position.swap
            if (
                worst is None
                or result < worst_result
                or (result == worst_result and position.id < worst.id)
            ):
                worst, worst_result = position, result
        return worst

    def _close(self, out: Outcome, account: Account, position: Position, now: int) -> None:
        self.fills.close_at_market(out, account, position, position.units, now, DealReason.STOP_OUT)
