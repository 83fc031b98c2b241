"""Fixtures for the warehouse tests: a catalog snapshot and a client with a trading account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.integration.warehouse.support import Account, Snapshot, catalog_snapshot


@pytest.fixture
def snapshot() -> Snapshot:
    return catalog_snapshot


def _one(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def account(seeded_db_url: str) -> Account:
    """A client with a live EUR hedging account and a EUR wallet, on seeded reference data."""
    with psycopg.connect(seeded_db_url) as conn:
        brand_id = _one(conn, "SELECT id FROM brands WHERE code = 'demo'")
        client_id = _one(
            conn,
            """INSERT INTO clients (brand_id, email, first_name, last_name, country, kyc_level)
               VALUES (%s, 'ada@example.com', 'Ada', 'Lovelace', 'GB', 2) RETURNING id""",
            (brand_id,),
        )
        group_id = _one(conn, "SELECT id FROM account_groups WHERE code = 'retail-eu-hedging'")
        trading_account_id = _one(
            conn,
            """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency)
               VALUES (100001, %s, %s, 'live', 'EUR') RETURNING id""",
            (client_id, group_id),
        )
        wallet_account = _one(
            conn,
            """INSERT INTO ledger_accounts (code, kind, currency, client_id)
               VALUES ('client:' || %s || ':wallet:EUR', 'client_wallet', 'EUR', %s)
               RETURNING id""",
            (client_id, client_id),
        )
        conn.execute(
            "INSERT INTO wallets (client_id, currency, ledger_account_id) VALUES (%s, 'EUR', %s)",
            (client_id, wallet_account),
        )
        return Account(
            client_id=client_id,
            trading_account_id=trading_account_id,
            instrument_id=_one(conn, "SELECT id FROM instruments WHERE symbol = 'EURUSD'"),
            wallet_ledger_account_id=wallet_account,
            bank_ledger_account_id=_one(
                conn, "SELECT id FROM ledger_accounts WHERE code = 'demo:client_money_bank:EUR'"
            ),
        )


@pytest.fixture
def conn(seeded_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh seeded database."""
    with psycopg.connect(seeded_db_url, autocommit=True) as connection:
        yield connection
