"""What each client is owed at a day's cut, and what the client-money banks hold for it: the
query the pipelines' client-money reconciliation (``pipelines/client_money``) calls.

Our reading of the client-money rules (FCA CASS 7 / CySEC), which decides every figure:

- a client's entitlement in a currency is their wallets' balances (funds reserved for a
  pending withdrawal included: the money has not left the client bank account yet) plus
  their live trading accounts' equity at the cut, taken from the core's statements;
- an account's equity counts without its credit (a bonus is the broker's money, not the
  client's) and never below zero: a negative-equity account is a debt of the client, and one
  client's debt may not be offset against another's money; for the same reason a client whose
  wallets and accounts sum below zero counts as zero;
- demo and prop-challenge accounts hold no client money and are left out;
- a live account the core did not value at the cut (no statement) counts at its ledger
  balance, the figure that protects the client; the count of such accounts is reported;
- the money held is each client-money bank account's closing balance on the trade date, from
  the latest statement file loaded for that account and day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg

ZERO = Decimal(0)

# Wallet money: the client's wallets and withdrawal reserves, -(entries) up to the cut.
_WALLETS = """
SELECT c.brand_id, la.currency, la.client_id, -sum(e.amount)
FROM ledger_accounts la
JOIN clients c ON c.id = la.client_id
JOIN ledger_entries e ON e.ledger_account_id = la.id
JOIN ledger_transfers t ON t.id = e.transfer_id
WHERE la.kind IN ('client_wallet', 'withdrawal_reserve') AND t.created_at < %(cut)s
GROUP BY 1, 2, 3
"""

# Each live account's equity less credit at the cut, or its ledger balance unvalued.
_ACCOUNTS = """
WITH ledger AS (
    SELECT la.trading_account_id, -sum(e.amount) AS balance
    FROM ledger_accounts la
    JOIN ledger_entries e ON e.ledger_account_id = la.id
    JOIN ledger_transfers t ON t.id = e.transfer_id
    WHERE la.kind = 'trading_account' AND t.created_at < %(cut)s
    GROUP BY 1
)
SELECT c.brand_id, ta.currency, ta.client_id, s.equity - s.credit, l.balance,
       s.trading_account_id IS NULL
FROM trading_accounts ta
JOIN clients c ON c.id = ta.client_id
LEFT JOIN account_statements s ON s.trading_account_id = ta.id AND s.cut = %(cut)s
LEFT JOIN ledger l ON l.trading_account_id = ta.id
WHERE ta.kind = 'live' AND (s.trading_account_id IS NOT NULL OR l.balance IS NOT NULL)
"""

# The latest loaded balance of each bank account for the day.
_HELD = """
SELECT DISTINCT ON (b.brand_id, b.currency, b.bank_account)
       b.brand_id, b.currency, b.bank_account, b.balance, f.name
FROM client_money_bank_balances b
JOIN settlement_files f ON f.id = b.settlement_file_id
WHERE b.as_of = %(as_of)s
ORDER BY b.brand_id, b.currency, b.bank_account, b.settlement_file_id DESC
"""


@dataclass(frozen=True, slots=True)
class Line:
    client_id: int
    wallets: Decimal
    trading_equity: Decimal

    @property
    def entitlement(self) -> Decimal:
        return max(self.wallets + self.trading_equity, ZERO)


@dataclass(frozen=True, slots=True)
class BankHolding:
    bank_account: str
    balance: Decimal
    file: str


@dataclass(slots=True)
class Facts:
    """One brand's and currency's figures for a day."""

    brand_id: int
    currency: str
    lines: list[Line] = field(default_factory=list)
    banks: list[BankHolding] = field(default_factory=list)

    @property
    def entitlement(self) -> Decimal:
        return sum((line.entitlement for line in self.lines), ZERO)

    @property
    def held(self) -> Decimal:
        return sum((bank.balance for bank in self.banks), ZERO)

    @property
    def difference(self) -> Decimal:
        return self.held - self.entitlement

    @property
    def status(self) -> str:
        return status_of(self.difference)


def status_of(difference: Decimal) -> str:
    if difference < 0:
        return "shortfall"
    return "excess" if difference > 0 else "balanced"


@dataclass(frozen=True, slots=True)
class DayFacts:
    by_book: dict[tuple[int, str], Facts]
    unvalued_accounts: int


def day_facts(conn: psycopg.Connection[Any], trade_date: date, cut: datetime) -> DayFacts:
    """Every brand's and currency's figures, with a line per client owed anything."""
    params = {"cut": cut, "as_of": trade_date}
    wallets: dict[tuple[int, str, int], Decimal] = defaultdict(lambda: ZERO)
    trading: dict[tuple[int, str, int], Decimal] = defaultdict(lambda: ZERO)
    for brand_id, currency, client_id, amount in conn.execute(_WALLETS, params):
        wallets[brand_id, currency, client_id] += amount
    unvalued = 0
    for brand_id, currency, client_id, equity, ledger, missing in conn.execute(_ACCOUNTS, params):
        unvalued += bool(missing)
        value = ledger if missing else equity
        trading[brand_id, currency, client_id] += max(value, ZERO)
    books: dict[tuple[int, str], Facts] = {}

    def book(brand_id: int, currency: str) -> Facts:
        return books.setdefault((brand_id, currency), Facts(brand_id, currency))

    for key in sorted(wallets.keys() | trading.keys()):
        line = Line(key[2], wallets.get(key, ZERO), trading.get(key, ZERO))
        if line.wallets or line.trading_equity:
            book(key[0], key[1]).lines.append(line)
    for brand_id, currency, bank_account, balance, name in conn.execute(_HELD, params):
        book(brand_id, currency).banks.append(BankHolding(bank_account, balance, name))
    return DayFacts(books, unvalued)
