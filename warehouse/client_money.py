"""The bank's side of client money: the client-money accounts' closing balances, one row per
brand, account, currency and day of a statement file, each file recorded once by SHA-256.
Written by the pipelines' settlement-folder loader and by finance's statement import; read by
the client-money reconciliation (``pipelines/client_money``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg

# (brand id, bank account, currency, as of, closing balance)
Balance = tuple[int, str, str, date, Decimal]


def record_bank_balances(
    conn: psycopg.Connection[Any], name: str, sha256: str, balances: Sequence[Balance]
) -> bool:
    """Record one file's balances (in the caller's transaction); False when the same file was
    recorded before (by either way in)."""
    file_row = conn.execute(
        """INSERT INTO settlement_files (name, sha256, kind, rows)
           VALUES (%s, %s, 'bank_statement', %s)
           ON CONFLICT (sha256) DO NOTHING RETURNING id""",
        (name, sha256, len(balances)),
    ).fetchone()
    if file_row is None:
        return False
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO client_money_bank_balances (brand_id, bank_account, currency, as_of,
                                                       balance, settlement_file_id)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            [(*balance, file_row[0]) for balance in balances],
        )
    return True
