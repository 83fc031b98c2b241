"""What the core hands back: the outcome of one input, and the records it is made of.

Order, deal, position and balance records are the contract events themselves: the journal
holds the same immutable objects the shell publishes, so what is stored and what is said can
never differ. Ledger transfers and LP orders are journal-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from execution.contracts import (
    AccountState,
    BalanceChange,
    BalanceKind,
    Deal,
    DealEntry,
    DealReason,
    Event,
    MarginCall,
    OrderUpdate,
    PositionUpdate,
    QuoteState,
    RejectCode,
    Reply,
    Side,
    StopOut,
    ValuationAlert,
)
from execution.lp import LpOrder
from execution.state import Account, Order, Position
from execution.units import VOLUME_DIGITS, optional_decimal, to_decimal, units_to_lots


@dataclass(frozen=True, slots=True)
class LedgerLeg:
    ledger_account: str  # e.g. "trading:<account>", "transit", "credit:<brand>"
    amount: Decimal  # positive credits the ledger account, negative debits it
    currency: str


@dataclass(frozen=True, slots=True)
class LedgerTransfer:
    """A balanced transfer for a balance operation (legs sum to zero), keyed by request id."""

    request_id: str
    account_id: int
    kind: BalanceKind
    legs: tuple[LedgerLeg, ...]
    time: int


@dataclass(frozen=True, slots=True)
class AccountChange:
    """An account's own settings after an `UpdateAccount`: what the journal writes on its
    row (the client's KYC level and status are the back office's, not written here)."""

    account_id: int
    group: str
    leverage: int | None
    enabled: bool


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """An account's exact image (`execution.image`) at a daily cut."""

    account_id: int
    taken_at: int  # ns: the cut
    image: bytes


@dataclass(frozen=True, slots=True)
class RolloverMark:
    """The swap rollover the core last applied (or, before the first, when it started
    counting): journaled with the swaps it charged, so a restart catches up on the rollovers
    due while it was down, exactly once."""

    at: int  # ns


@dataclass(frozen=True, slots=True)
class PositionMark:
    """One open position at a cut, in its account's currency (swap apart from profit)."""

    position_id: int
    account_id: int
    symbol: str
    side: Side
    volume: Decimal
    open_price: Decimal
    close_price: Decimal | None
    profit: Decimal | None
    swap: Decimal
    book: str


@dataclass(frozen=True, slots=True)
class CutStatement:
    """An account as the core valued it at a cut (no ``account_id`` of its own: stating an
    account changes nothing about it)."""

    cut: int
    applied_at: int
    state: AccountState
    positions: tuple[PositionMark, ...]


@dataclass(frozen=True, slots=True)
class CutRates:
    """The mid rate of each currency in USD at a cut, from the LPs' aggregate prices."""

    cut: int
    rates: tuple[tuple[str, Decimal], ...]


Recorded = (
    OrderUpdate
    | Deal
    | PositionUpdate
    | BalanceChange
    | MarginCall
    | StopOut
    | ValuationAlert
    | QuoteState
)
JournalRecord = (
    Recorded
    | LedgerTransfer
    | LpOrder
    | RolloverMark
    | AccountSnapshot
    | CutStatement
    | CutRates
    | AccountChange
)


@dataclass(slots=True)
class Outcome:
    """Replies to send, events to publish, records to journal (before either leaves the
    process) and LP orders to send once journaled."""

    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    journal: list[JournalRecord] = field(default_factory=list)
    lp_orders: list[LpOrder] = field(default_factory=list)

    def record(self, record: Recorded) -> None:
        self.journal.append(record)
        self.events.append(record)

    def extend(self, other: Outcome) -> None:
        self.replies.extend(other.replies)
        self.events.extend(other.events)
        self.journal.extend(other.journal)
        self.lp_orders.extend(other.lp_orders)


def order_update(order: Order, now: int, reason: RejectCode | None = None) -> OrderUpdate:
    digits = order.instrument.digits
    return OrderUpdate(
        order_id=order.id,
        account_id=order.account_id,
        symbol=order.instrument.symbol,
        side=order.side,
        type=order.type,
        tif=order.tif,
        state=order.state,
        volume=units_to_lots(order.units),
        filled=units_to_lots(order.filled),
        price=optional_decimal(order.price, digits),
        sl=optional_decimal(order.sl, digits),
        tp=optional_decimal(order.tp, digits),
        expires_at=order.expires_at,
        position_id=order.position_id,
        request_id=order.request_id,
        reason=reason,
        time=now,
    )


def position_update(position: Position, group_digits: int, now: int) -> PositionUpdate:
    digits = position.instrument.digits
    return PositionUpdate(
        position_id=position.id,
        account_id=position.account_id,
        symbol=position.instrument.symbol,
        side=position.side,
        volume=units_to_lots(position.units),
        open_price=to_decimal(position.open_price, digits) if position.units else Decimal(0),
        sl=optional_decimal(position.sl, digits),
        tp=optional_decimal(position.tp, digits),
        swap=to_decimal(position.swap, group_digits),
        opened_at=position.opened_at,
        time=now,
        open_value=to_decimal(position.notional, digits + VOLUME_DIGITS),
    )


def deal_record(
    deal_id: int,
    order: Order | None,
    position: Position,
    side: Side,
    entry: DealEntry,
    reason: DealReason,
    units: int,
    price: int,
    amounts: tuple[int, int, int],  # profit, commission, swap in minor units
    money_digits: int,
    now: int,
) -> Deal:
    profit, commission, swap = amounts
    return Deal(
        deal_id=deal_id,
        order_id=order.id if order is not None else None,
        account_id=position.account_id,
        position_id=position.id,
        symbol=position.instrument.symbol,
        side=side,
        entry=entry,
        reason=reason,
        volume=units_to_lots(units),
        price=to_decimal(price, position.instrument.digits),
        profit=to_decimal(profit, money_digits),
        commission=to_decimal(commission, money_digits),
        swap=to_decimal(swap, money_digits),
        book=position.book,
        time=now,
    )


def balance_change(
    entry_id: int,
    account: Account,
    kind: BalanceKind,
    amount: int,
    now: int,
    deal_id: int | None = None,
    request_id: str | None = None,
    comment: str = "",
) -> BalanceChange:
    digits = account.group.currency_digits
    return BalanceChange(
        entry_id=entry_id,
        account_id=account.id,
        kind=kind,
        amount=to_decimal(amount, digits),
        balance=to_decimal(account.balance, digits),
        credit=to_decimal(account.credit, digits),
        currency=account.group.currency,
        deal_id=deal_id,
        request_id=request_id,
        comment=comment,
        time=now,
    )
