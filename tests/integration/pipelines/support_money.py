"""Seeding for the client-money and AML tests: money into wallets, withdrawal reserves,
staff users and bank statement files."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import psycopg

from tests.integration.pipelines.support import brand_id, broker_ledger_account, one, transfer

_keys = count(1)


def wallet_deposit(
    conn: psycopg.Connection[Any], wallet_ledger_id: int, currency: str, amount: Decimal,
    at: datetime,
) -> int:  # fmt: skip
    """Money into a wallet from the client-money bank (the wallet's credit is negative)."""
    bank = broker_ledger_account(conn, "client_money_bank", currency)
    return transfer(conn, "deposit", currency, [(bank, amount), (wallet_ledger_id, -amount)], at)


def reserve_withdrawal(
    conn: psycopg.Connection[Any], client_id: int, wallet_ledger_id: int, currency: str,
    amount: Decimal, at: datetime,
) -> int:  # fmt: skip
    """A pending withdrawal: the amount moves from the wallet to the client's reserve."""
    reserve = int(
        one(
            conn,
            """INSERT INTO ledger_accounts (code, kind, currency, brand_id, client_id)
               VALUES (%s, 'withdrawal_reserve', %s, %s, %s) RETURNING id""",
            (f"reserve:{client_id}:{currency}:{next(_keys)}", currency, brand_id(conn), client_id),
        )
    )
    return transfer(
        conn, "withdrawal_reserve", currency, [(wallet_ledger_id, amount), (reserve, -amount)], at
    )


def staff(conn: psycopg.Connection[Any], name: str) -> int:
    return int(
        one(
            conn,
            "INSERT INTO staff_users (email, display_name) VALUES (%s, %s) RETURNING id",
            (f"{name.lower()}{next(_keys)}@broker.test", name),
        )
    )


def statement_file(
    folder: Path, name: str, rows: list[tuple[str, str, date, str]], brand: str = "demo"
) -> Path:
    """A bank statement file: rows of (bank account, currency, as of, closing balance)."""
    lines = ["brand,bank_account,currency,as_of,closing_balance"]
    lines += [f"{brand},{acc},{cur},{day.isoformat()},{bal}" for acc, cur, day, bal in rows]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path
