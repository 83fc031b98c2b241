"""The chart of accounts as the back office asks it: a client's wallet (opened on first use)
and the brand's own accounts per kind and currency (``<brand>:<kind>:<currency>``, the codes
the seed and the execution service use)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from backoffice.errors import Refused, not_found


@dataclass(frozen=True, slots=True)
class Wallet:
    id: int
    client_id: int
    currency: str
    ledger_account_id: int
    status: str


@dataclass(frozen=True, slots=True)
class WalletBalance:
    wallet_id: int
    currency: str
    balance: Decimal  # what the broker owes the client
    held: Decimal  # reserved by open pending transfers (withdrawals, transfers under way)
    available: Decimal  # balance - held: what the client may move now
    status: str


_WALLET = "SELECT id, client_id, currency, ledger_account_id, status FROM wallets"


def _wallet(row: Any) -> Wallet:
    return Wallet(int(row[0]), int(row[1]), str(row[2]), int(row[3]), str(row[4]))


def open_wallet(conn: psycopg.Connection[Any], client_id: int, currency: str) -> Wallet:
    """The client's wallet in ``currency``, opened (with its ledger account) if it has none.
    Safe to call concurrently: one wallet per client and currency."""
    currency = currency.upper()
    row = conn.execute(f"{_WALLET} WHERE client_id = %s AND currency = %s",
                       (client_id, currency)).fetchone()  # fmt: skip
    if row is not None and row[3] is not None:
        return _wallet(row)
    client = conn.execute("SELECT brand_id FROM clients WHERE id = %s", (client_id,)).fetchone()
    if client is None:
        raise not_found("client", client_id)
    with conn.transaction():
        conn.execute(
            """INSERT INTO ledger_accounts (code, kind, currency, brand_id, client_id)
               VALUES (%s, 'client_wallet', %s, %s, %s) ON CONFLICT (code) DO NOTHING""",
            (f"client:{client_id}:wallet:{currency}", currency, client[0], client_id),
        )
        conn.execute(
            """INSERT INTO wallets (client_id, currency, ledger_account_id)
               SELECT %s, %s, id FROM ledger_accounts WHERE code = %s
               ON CONFLICT (client_id, currency) DO UPDATE
                   SET ledger_account_id = coalesce(wallets.ledger_account_id,
                                                    EXCLUDED.ledger_account_id)""",
            (client_id, currency, f"client:{client_id}:wallet:{currency}"),
        )
    row = conn.execute(f"{_WALLET} WHERE client_id = %s AND currency = %s",
                       (client_id, currency)).fetchone()  # fmt: skip
    assert row is not None
    return _wallet(row)


def client_wallet(conn: psycopg.Connection[Any], client_id: int, wallet_id: int) -> Wallet:
    """One of the client's wallets (another client's is not found)."""
    row = conn.execute(f"{_WALLET} WHERE id = %s AND client_id = %s",
                       (wallet_id, client_id)).fetchone()  # fmt: skip
    if row is None or row[3] is None:
        raise not_found("wallet", wallet_id)
    return _wallet(row)


def usable(wallet: Wallet) -> Wallet:
    if wallet.status != "active":
        raise Refused("conflict", "wallet_not_active", f"the wallet is {wallet.status}",
                      {"wallet_id": wallet.id})  # fmt: skip
    return wallet


def wallet_balances(conn: psycopg.Connection[Any], client_id: int) -> list[WalletBalance]:
    """The client's wallets with what each holds and what is available, by currency."""
    rows = conn.execute(
        """SELECT w.id, w.currency, -b.balance, b.pending_debits, -b.balance - b.pending_debits,
                  w.status
           FROM wallets w JOIN ledger_balances b ON b.ledger_account_id = w.ledger_account_id
           WHERE w.client_id = %s ORDER BY w.currency""",
        (client_id,),
    ).fetchall()
    return [WalletBalance(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]


def broker_account(conn: psycopg.Connection[Any], brand_id: int, kind: str, currency: str) -> int:
    """The brand's ledger account of ``kind`` in ``currency``, created on first use (no lock
    is taken on an existing one: every transfer of the brand passes through it)."""
    find = """SELECT a.id FROM ledger_accounts a JOIN brands b ON b.id = %(brand)s
              WHERE a.code = b.code || ':' || %(kind)s || ':' || %(ccy)s"""
    params = {"kind": kind, "ccy": currency, "brand": brand_id}
    row = conn.execute(find, params).fetchone()
    if row is None:
        conn.execute(
            """INSERT INTO ledger_accounts (code, kind, currency, brand_id)
               SELECT b.code || ':' || %(kind)s || ':' || %(ccy)s, %(kind)s, %(ccy)s, b.id
               FROM brands b WHERE b.id = %(brand)s ON CONFLICT (code) DO NOTHING""",
            params,
        )
        row = conn.execute(find, params).fetchone()
    if row is None:
        raise not_found("brand", brand_id)
    return int(row[0])


def psp_clearing(conn: psycopg.Connection[Any], brand_id: int, psp: str, currency: str) -> int:
    """The brand's clearing account at ``psp`` in ``currency`` (created on first use)."""
    params = {"brand": brand_id, "psp": psp, "ccy": currency}
    find = """SELECT a.id FROM ledger_accounts a JOIN brands b ON b.id = %(brand)s
              WHERE a.code = b.code || ':psp_clearing:' || %(psp)s || ':' || %(ccy)s"""
    row = conn.execute(find, params).fetchone()
    if row is None:
        conn.execute(
            """INSERT INTO ledger_accounts (code, kind, currency, brand_id, psp)
               SELECT b.code || ':psp_clearing:' || %(psp)s || ':' || %(ccy)s, 'psp_clearing',
                      %(ccy)s, b.id, %(psp)s
               FROM brands b WHERE b.id = %(brand)s ON CONFLICT (code) DO NOTHING""",
            params,
        )
        row = conn.execute(find, params).fetchone()
    assert row is not None
    return int(row[0])
