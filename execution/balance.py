"""Balance operations: deposit, withdrawal, credit and correction, each a balance change on the
account and a balanced ledger transfer keyed by the command's request id (domain.md, Ledger)."""

from __future__ import annotations

from execution.context import Context
from execution.contracts import Accepted, BalanceKind, BalanceOperation, RejectCode, Rejected, Reply
from execution.margin import value_account
from execution.records import LedgerLeg, LedgerTransfer, Outcome, balance_change
from execution.state import Account
from execution.units import to_decimal


def apply_balance_operation(
    ctx: Context, out: Outcome, cmd: BalanceOperation, account: Account, now: int
) -> Reply:
    """A negative balance made by a correction is not written off: the correction is the point."""
    rid = cmd.request_id
    group = account.group
    amount = group.to_money(cmd.amount)
    kind = cmd.kind
    if amount is None or amount == 0:
        return Rejected(request_id=rid, code=RejectCode.INVALID_AMOUNT, message=str(cmd.amount))
    if kind in (BalanceKind.DEPOSIT, BalanceKind.WITHDRAWAL):
        if amount < 0:
            return Rejected(
                request_id=rid, code=RejectCode.INVALID_AMOUNT, message="must be positive"
            )
        if not cmd.wallet_id:
            return Rejected(request_id=rid, code=RejectCode.MALFORMED, message="wallet_id required")
        # the back office moves the money between the wallet and the brand's transit account
        # (a pending transfer it posts or voids on this reply): the core's side is transit's
        counterpart = "transit"
        if kind is BalanceKind.WITHDRAWAL:
            valuation = value_account(account, ctx.book(group), ctx.converter)
            free = valuation.free_margin if valuation is not None else None
            if free is None or amount > account.balance or amount > free:
                return Rejected(request_id=rid, code=RejectCode.NO_MONEY)
            amount = -amount
    elif kind is BalanceKind.CREDIT:
        if account.credit + amount < 0:
            return Rejected(
                request_id=rid, code=RejectCode.INVALID_AMOUNT, message="credit below 0"
            )
        counterpart = f"credit:{group.brand or group.name}"
    elif kind is BalanceKind.CORRECTION:
        counterpart = "broker:corrections"
    else:
        return Rejected(
            request_id=rid, code=RejectCode.MALFORMED, message=f"not an operation: {kind}"
        )
    if kind is BalanceKind.CREDIT:
        account.credit += amount
        own = f"trading-credit:{account.id}"
    else:
        account.balance += amount
        own = f"trading:{account.id}"
    out.record(
        balance_change(
            ctx.next_entry_id(), account, kind, amount, now, request_id=rid, comment=cmd.comment
        )
    )
    money = to_decimal(amount, group.currency_digits)
    legs = (LedgerLeg(own, money, group.currency), LedgerLeg(counterpart, -money, group.currency))
    out.journal.append(LedgerTransfer(rid, account.id, kind, legs, now))
    return Accepted(request_id=rid, balance=to_decimal(account.balance, group.currency_digits))
