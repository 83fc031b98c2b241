"""Balance changes as double-entry ledger transfers.

Every balance change the core makes becomes one balanced transfer keyed by the shard's entry
id (``execution:<shard>:<entry id>``), so a restart can continue the entry sequence and a
retried journal write can never post twice. Balance operations carry the core's own legs;
trading results (P/L, commission, swap, negative-balance write-off) move money between the
client's trading account and the brand's broker accounts of the same currency.

Sign convention: the core's legs credit a ledger account when positive; the warehouse stores
debits positive, so each entry is the leg negated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from brokerstack.times import to_datetime
from execution import contracts as c
from execution.records import LedgerLeg, LedgerTransfer
from execution.service.reference import Reference
from warehouse.ledger import journal_parts

_TRANSFER_KINDS = {
    c.BalanceKind.DEPOSIT: "trading_deposit",
    c.BalanceKind.WITHDRAWAL: "trading_withdrawal",
    c.BalanceKind.CREDIT: "bonus",
    c.BalanceKind.CORRECTION: "correction",
}
# The broker's side of a trading result, by the kind of balance change.
_COUNTERPARTS = {
    c.BalanceKind.PNL: "broker_equity",
    c.BalanceKind.COMMISSION: "revenue_commission",
    c.BalanceKind.SWAP: "revenue_swap",
    c.BalanceKind.WRITE_OFF: "negative_balance_writeoff",
}
# The brand's accounts a leg may name directly, one per currency.
_BROKER_ACCOUNTS = {*_COUNTERPARTS.values(), "transit"}


@dataclass(frozen=True, slots=True)
class AccountOwner:
    client_id: int
    group: str


class LedgerAccounts:
    """Ledger account ids behind the core's ledger account names, created on first use."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.owners: dict[int, AccountOwner] = {}
        self._ids: dict[str, int] = {}

    def resolve(self, conn: psycopg.Connection[Any], name: str, account_id: int) -> int:
        cached = self._ids.get(name)
        if cached is not None:
            return cached
        owner = self.owners[account_id]
        info = self.reference.groups[owner.group]
        kind, _, key = name.partition(":")
        if kind == "trading":
            found = self._find(
                conn, "SELECT id FROM ledger_accounts WHERE trading_account_id = %s", int(key)
            )
            ledger_id = found or self._create(
                conn, name, "trading_account", info.currency, info.brand_id, owner.client_id,
                int(key),
            )  # fmt: skip
        elif kind == "trading-credit":
            ledger_id = self._create(conn, name, "bonus_credit", info.currency, info.brand_id)
        elif kind == "credit":
            ledger_id = self.broker(conn, "bonus_credit", owner.group)
        else:  # broker:corrections
            ledger_id = self.broker(conn, "broker_equity", owner.group)
        self._ids[name] = ledger_id
        return ledger_id

    def broker(self, conn: psycopg.Connection[Any], kind: str, group: str) -> int:
        info = self.reference.groups[group]
        code = f"{info.brand}:{kind}:{info.currency}"
        cached = self._ids.get(code)
        if cached is None:
            cached = self._ids[code] = self._create(conn, code, kind, info.currency, info.brand_id)
        return cached

    @staticmethod
    def _find(conn: psycopg.Connection[Any], query: str, key: int) -> int | None:
        row = conn.execute(query, (key,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    @staticmethod
    def _create(
        conn: psycopg.Connection[Any],
        code: str,
        kind: str,
        currency: str,
        brand_id: int,
        client_id: int | None = None,
        trading_account_id: int | None = None,
    ) -> int:
        conn.execute(
            """INSERT INTO ledger_accounts (code, kind, currency, brand_id, client_id,
                                            trading_account_id)
               VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
            (code, kind, currency, brand_id, client_id, trading_account_id),
        )
        row = conn.execute("SELECT id FROM ledger_accounts WHERE code = %s", (code,)).fetchone()
        assert row is not None, code
        return int(row[0])


@dataclass(frozen=True, slots=True)
class Postings:
    """A batch's transfers and their entries as column arrays, ready for one statement."""

    keys: list[str]
    currencies: list[str]
    kinds: list[str]
    descriptions: list[str]
    times: list[datetime]  # the core's time of each change (reports cut days by it)
    entry_keys: list[str]
    entry_accounts: list[int]
    entry_amounts: list[Decimal]


def prepare_postings(
    conn: psycopg.Connection[Any],
    accounts: LedgerAccounts,
    changes: list[c.BalanceChange],
    operations: dict[str, LedgerTransfer],
    entry_prefix: str,
) -> Postings:
    """One transfer per balance change. Resolving ledger accounts may create one (outside the
    batch's transaction: an unused ledger account is harmless, and the id stays valid)."""
    out = Postings([], [], [], [], [], [], [], [])
    for change in changes:
        key = f"{entry_prefix}{change.entry_id}"
        operation = operations.get(change.request_id or "")
        if change.kind in _TRANSFER_KINDS and operation is not None:
            kind = _TRANSFER_KINDS[change.kind]
            pairs = operation.legs
            description = f"{change.kind} request {change.request_id}"
        else:
            kind = "trading_result"
            counterpart = _COUNTERPARTS.get(change.kind, "broker_equity")
            own = f"trading:{change.account_id}"
            pairs = (
                LedgerLeg(own, change.amount, change.currency),
                LedgerLeg(counterpart, -change.amount, change.currency),
            )
            description = f"{change.kind} deal {change.deal_id}"
        for leg in pairs:
            out.entry_keys.append(key)
            out.entry_accounts.append(_leg_account(conn, accounts, leg, change))
            out.entry_amounts.append(-leg.amount)
        out.keys.append(key)
        out.currencies.append(change.currency)
        out.kinds.append(kind)
        out.descriptions.append(f"{description}, account {change.account_id}")
        out.times.append(to_datetime(change.time))
    return out


def transfer_statements(postings: Postings) -> list[tuple[str, str, tuple[Any, ...]]]:
    """The transfers and their entries as named parts of the journal's statement (a key
    already posted posts nothing): the ledger's own rows, written by its journal form."""
    return journal_parts(
        postings.keys, postings.currencies, postings.kinds, postings.descriptions,
        postings.times, postings.entry_keys, postings.entry_accounts, postings.entry_amounts,
    )  # fmt: skip


def _leg_account(
    conn: psycopg.Connection[Any],
    accounts: LedgerAccounts,
    leg: LedgerLeg,
    change: c.BalanceChange,
) -> int:
    if leg.ledger_account in _BROKER_ACCOUNTS:
        group = accounts.owners[change.account_id].group
        return accounts.broker(conn, leg.ledger_account, group)
    return accounts.resolve(conn, leg.ledger_account, change.account_id)
