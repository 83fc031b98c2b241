"""Ledger accounts for the ledger's tests, made by plain inserts."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import psycopg


def one(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] | None = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


_serial = itertools.count(1)


def wallet(conn: psycopg.Connection[Any], currency: str = "EUR") -> int:
    """A new client's wallet ledger account (guarded: the trigger gives it a stored balance)."""
    n = next(_serial)
    client = one(
        conn,
        """INSERT INTO clients (brand_id, email, first_name, last_name, country)
           SELECT id, %s, 'Ada', 'Lovelace', 'GB' FROM brands WHERE code = 'demo'
           RETURNING id""",
        (f"ledger{n}-{id(conn)}@example.com",),
    )
    return int(
        one(
            conn,
            """INSERT INTO ledger_accounts (code, kind, currency, client_id)
               VALUES (%s, 'client_wallet', %s, %s) RETURNING id""",
            (f"client:{client}:wallet:{currency}", currency, client),
        )
    )


def broker(conn: psycopg.Connection[Any], code: str) -> int:
    return int(one(conn, "SELECT id FROM ledger_accounts WHERE code = %s", (code,)))


def entries_sum(conn: psycopg.Connection[Any], account: int) -> D:
    return D(one(conn, "SELECT coalesce(sum(amount), 0) FROM ledger_entries "
                        "WHERE ledger_account_id = %s", (account,)))  # fmt: skip


def stored(conn: psycopg.Connection[Any], account: int) -> tuple[D, D, D]:
    row = conn.execute(
        "SELECT balance, pending_debits, pending_credits FROM ledger_balances "
        "WHERE ledger_account_id = %s",
        (account,),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]
