"""Fills: a deal applied to positions (netting or hedging), with its P/L, commission, swap and
the balance changes they make (domain.md, Positions)."""

from __future__ import annotations

from fractions import Fraction

from execution.commission import month_end
from execution.context import Context
from execution.contracts import BalanceKind, DealEntry, DealReason, Side
from execution.instruments import Instrument
from execution.margin import position_profit, profit_money
from execution.records import Outcome, balance_change, deal_record, position_update
from execution.state import Account, Order, Position
from execution.units import VOLUME_SCALE, div_round


def month_units(account: Account, now: int) -> int:
    """The account's volume this calendar month (a new month starts from zero)."""
    if now >= account.month_end:
        account.month_units = 0
        account.month_end = month_end(now)
    return account.month_units


class Fills:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def fill(
        self,
        out: Outcome,
        account: Account,
        instrument: Instrument,
        side: Side,
        units: int,
        price: int,
        now: int,
        *,
        order: Order | None = None,
        reason: DealReason = DealReason.CLIENT,
        book: str = "b",
        position: Position | None = None,
    ) -> tuple[int, int]:
        """Execute `units` at `price`; returns (deal id, position id).

        Hedging: opens a new position unless `position` (opposite side) is named to reduce.
        Netting: adds to, reduces, closes or reverses the symbol's one position.
        """
        ctx = self.ctx
        symbol = instrument.symbol
        target = position if account.hedging else account.net.get(symbol)
        signed = units if side is Side.BUY else -units
        # clients' net across both books; A-book fills also move `hedged`, so only the
        # internally held part counts as the broker's uncovered exposure
        ctx.client_net[symbol] = ctx.client_net.get(symbol, 0) + signed
        key = (account.group.name, symbol)
        ctx.group_net[key] = ctx.group_net.get(key, 0) + signed
        if target is None or target.side is side:
            return self._open(
                out, account, instrument, side, units, price, now, order, reason, book, target
            )
        return self._reduce(out, account, target, side, units, price, now, order, reason, book)

    def _open(
        self,
        out: Outcome,
        account: Account,
        instrument: Instrument,
        side: Side,
        units: int,
        price: int,
        now: int,
        order: Order | None,
        reason: DealReason,
        book: str,
        existing: Position | None,
    ) -> tuple[int, int]:
        ctx = self.ctx
        if existing is not None:
            position = existing
            account.change_position(
                position, position.units + units, position.notional + price * units
            )
        else:
            position = Position(
                ctx.next_position_id(),
                account.id,
                instrument,
                side,
                units,
                price * units,
                now,
                book,
            )
            if order is not None:
                position.sl, position.tp = order.sl, order.tp
            if account.add_position(position):
                ctx.reindex(account)
            ctx.protect(position)
        commission = self._commission(account, instrument, price, units, 0, side, now)
        return self._book_deal(
            out,
            account,
            position,
            order,
            side,
            DealEntry.IN,
            reason,
            units,
            price,
            (0, commission, 0),
            now,
        )

    def _reduce(
        self,
        out: Outcome,
        account: Account,
        target: Position,
        side: Side,
        units: int,
        price: int,
        now: int,
        order: Order | None,
        reason: DealReason,
        book: str,
    ) -> tuple[int, int]:
        ctx = self.ctx
        instrument = target.instrument
        closing = min(units, target.units)
        full = closing == target.units
        removed = target.notional if full else target.notional * closing // target.units
        swap = target.swap if full else div_round(target.swap * closing, target.units)
        group = account.group
        profit = position_profit(
            instrument, target.side, closing, removed, price, group, ctx.book(group), ctx.converter
        )
        if profit is None:
            # risk refuses such a close first: booking it at zero would lose money silently
            raise LookupError(f"no {instrument.profit_currency} rate to close {target.id}")
        rest = units - closing
        if full:
            account.remove_position(target)
            target.units = 0
            if rest:
                # netting reversal keeps the position id, as MT5 does
                reversed_ = Position(
                    target.id, account.id, instrument, side, rest, price * rest, now, book
                )
                if order is not None:
                    reversed_.sl, reversed_.tp = order.sl, order.tp
                account.add_position(reversed_)
                ctx.protect(reversed_)
                target = reversed_
            ctx.reindex(account)
        else:
            account.change_position(
                target, target.units - closing, target.notional - removed, target.swap - swap
            )
        ctx.protect(target)
        commission = self._commission(account, instrument, price, rest, closing, side, now)
        entry = DealEntry.INOUT if rest else DealEntry.OUT
        result = self._book_deal(
            out,
            account,
            target,
            order,
            side,
            entry,
            reason,
            units,
            price,
            (profit, commission, swap),
            now,
        )
        self.protect_balance(out, account, now)
        return result

    def closable(self, account: Account, position: Position) -> bool:
        """Whether the position's profit can be valued now (its conversion rate is there)."""
        group = account.group
        rate = self.ctx.converter.rate(
            self.ctx.book(group),
            position.instrument.profit_currency,
            group.currency,
            position.side is Side.BUY,
        )
        return rate is not None

    def close_at_market(
        self,
        out: Outcome,
        account: Account,
        position: Position,
        units: int,
        now: int,
        reason: DealReason,
        order: Order | None = None,
    ) -> tuple[int, int]:
        """Close (part of) a position internally at the account's current client price."""
        quote = self.ctx.book(account.group)[position.instrument.symbol]
        side = Side.SELL if position.side is Side.BUY else Side.BUY
        price = quote.ask if side is Side.BUY else quote.bid
        return self.fill(
            out, account, position.instrument, side, units, price, now,
            order=order, reason=reason, position=position,
        )  # fmt: skip

    def close_by(
        self, out: Outcome, account: Account, first: Position, second: Position, now: int
    ) -> tuple[int, int]:
        """Net two opposite positions against each other at the second one's open price; the
        whole P/L (the open-price difference) lands on the first, and each deal pays the plan's
        exit commission for the volume it closes. Returns the two deal ids."""
        ctx = self.ctx
        instrument = first.instrument
        closing = min(first.units, second.units)
        removed = []
        for position in (first, second):
            full = closing == position.units
            notional = position.notional if full else position.notional * closing // position.units
            swap = position.swap if full else div_round(position.swap * closing, position.units)
            removed.append((notional, swap))
            if full:
                account.remove_position(position)
                position.units = 0
            else:
                account.change_position(
                    position,
                    position.units - closing,
                    position.notional - notional,
                    position.swap - swap,
                )
            ctx.protect(position)
        ctx.reindex(account)
        buy_notional, sell_notional = (
            (removed[0][0], removed[1][0])
            if first.side is Side.BUY
            else (removed[1][0], removed[0][0])
        )
        group = account.group
        rate = ctx.converter.rate(
            ctx.book(group), instrument.profit_currency, group.currency, first.side is Side.BUY
        )
        if rate is None:
            raise LookupError(f"no {instrument.profit_currency} rate to close {first.id} by")
        profit = profit_money(instrument, sell_notional - buy_notional, rate, group.money_scale)
        price = div_round(removed[1][0], closing)
        deals = []
        for position, result, swap in ((first, profit, removed[0][1]), (second, 0, removed[1][1])):
            close_side = Side.SELL if position.side is Side.BUY else Side.BUY
            # each out-by deal exits `closing` units: the plan's exit commission applies
            commission = self._commission(account, instrument, price, 0, closing, close_side, now)
            amounts = (result, commission, swap)
            deal_id, _ = self._book_deal(
                out,
                account,
                position,
                None,
                close_side,
                DealEntry.OUT_BY,
                DealReason.CLIENT,
                closing,
                price,
                amounts,
                now,
            )
            deals.append(deal_id)
        self.protect_balance(out, account, now)
        return deals[0], deals[1]

    def _book_deal(
        self,
        out: Outcome,
        account: Account,
        position: Position,
        order: Order | None,
        side: Side,
        entry: DealEntry,
        reason: DealReason,
        units: int,
        price: int,
        amounts: tuple[int, int, int],
        now: int,
    ) -> tuple[int, int]:
        ctx = self.ctx
        digits = account.group.currency_digits
        deal_id = ctx.next_deal_id()
        out.record(
            deal_record(
                deal_id, order, position, side, entry, reason, units, price, amounts, digits, now
            )
        )
        out.record(position_update(position, digits, now))
        month_units(account, now)
        account.month_units += units
        profit, commission, swap = amounts
        for amount, kind in (
            (profit, BalanceKind.PNL),
            (commission, BalanceKind.COMMISSION),
            (swap, BalanceKind.SWAP),
        ):
            if amount:
                account.balance += amount
                out.record(
                    balance_change(ctx.next_entry_id(), account, kind, amount, now, deal_id=deal_id)
                )
        return deal_id, position.id

    def protect_balance(self, out: Outcome, account: Account, now: int) -> None:
        """Negative-balance protection: once flat, a negative balance is written off."""
        if (
            account.group.negative_balance_protection
            and account.balance < 0
            and not account.positions
        ):
            amount = -account.balance
            account.balance = 0
            out.record(
                balance_change(
                    self.ctx.next_entry_id(), account, BalanceKind.WRITE_OFF, amount, now
                )
            )

    def _commission(
        self,
        account: Account,
        instrument: Instrument,
        price: int,
        entry: int,
        exit_: int,
        side: Side,
        now: int,
    ) -> int:
        plan = account.group.commission(instrument.symbol)
        if plan is None:
            return 0
        group = account.group
        ctx = self.ctx

        def turnover(units: int) -> Fraction:
            rate = ctx.converter.rate(
                ctx.book(group), instrument.profit_currency, group.currency, side is Side.BUY
            )
            if rate is None:
                raise LookupError(f"no {instrument.profit_currency} rate for the commission")
            num = price * units * instrument.contract_num * rate[0]
            return Fraction(
                num, instrument.scale * VOLUME_SCALE * instrument.contract_den * rate[1]
            )

        return plan.charge(entry, exit_, group.money_scale, turnover, month_units(account, now))
