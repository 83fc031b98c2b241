"""Seeding for the pipeline tests: the rows the execution service, the back office and the
ingest would have written, inserted directly so each test states its day exactly.

Times are UTC datetimes; money is Decimal. Ids come from the warehouse's sequences, so the
tests never guess them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import psycopg

_keys = count(1)


def one(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


def brand_id(conn: psycopg.Connection[Any], code: str = "demo") -> int:
    return int(one(conn, "SELECT id FROM brands WHERE code = %s", (code,)))


def instrument_id(conn: psycopg.Connection[Any], symbol: str) -> int:
    return int(one(conn, "SELECT id FROM instruments WHERE symbol = %s", (symbol,)))


def lp_id(conn: psycopg.Connection[Any], code: str = "lp-alpha") -> int:
    return int(one(conn, "SELECT id FROM lps WHERE code = %s", (code,)))


def client(
    conn: psycopg.Connection[Any],
    *,
    first_name: str = "Anna",
    last_name: str = "Novak",
    country: str = "CZ",
    nationality: str | None = "CZ",
    birth_date: date | None = date(1985, 4, 12),
    created_at: datetime | None = None,
    brand: str = "demo",
    email: str | None = None,
    ib_partner_id: int | None = None,
) -> int:
    n = next(_keys)
    return int(
        one(
            conn,
            """INSERT INTO clients (brand_id, email, first_name, last_name, birth_date, country,
                                    nationality, ib_partner_id, created_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now())) RETURNING id""",
            (
                brand_id(conn, brand),
                email or f"client{n}@example.test",
                first_name,
                last_name,
                birth_date,
                country,
                nationality,
                ib_partner_id,
                created_at,
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    login: int
    client_id: int
    currency: str
    ledger_account_id: int  # its trading_account ledger account


def account(
    conn: psycopg.Connection[Any],
    client_id: int,
    *,
    group: str = "professional-netting",
    balance: Decimal = Decimal(0),
    opened_at: datetime | None = None,
) -> Account:
    """A trading account in a seeded group, with its ledger account (as the service makes)."""
    row = conn.execute(
        "SELECT id, account_kind, deposit_currency, brand_id FROM account_groups WHERE code = %s",
        (group,),
    ).fetchone()
    assert row is not None, group
    group_id, kind, currency, brand = row
    login = 700_000 + next(_keys)
    account_id = int(
        one(
            conn,
            """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency,
                                             balance, opened_at)
               VALUES (%s, %s, %s, %s, %s, %s, coalesce(%s, now())) RETURNING id""",
            (login, client_id, group_id, kind, currency, balance, opened_at),
        )
    )
    ledger_id = int(
        one(
            conn,
            """INSERT INTO ledger_accounts (code, kind, currency, brand_id, client_id,
                                            trading_account_id)
               VALUES (%s, 'trading_account', %s, %s, %s, %s) RETURNING id""",
            (f"trading:{account_id}", currency, brand, client_id, account_id),
        )
    )
    return Account(account_id, login, client_id, str(currency), ledger_id)


def broker_ledger_account(conn: psycopg.Connection[Any], kind: str, currency: str) -> int:
    code = f"demo:{kind}:{currency}"
    conn.execute(
        """INSERT INTO ledger_accounts (code, kind, currency, brand_id)
           VALUES (%s, %s, %s, %s) ON CONFLICT (code) DO NOTHING""",
        (code, kind, currency, brand_id(conn)),
    )
    return int(one(conn, "SELECT id FROM ledger_accounts WHERE code = %s", (code,)))


def wallet(conn: psycopg.Connection[Any], client_id: int, currency: str = "USD") -> int:
    """A wallet with its ledger account; returns the ledger account's id."""
    ledger_id = int(
        one(
            conn,
            """INSERT INTO ledger_accounts (code, kind, currency, brand_id, client_id)
               VALUES (%s, 'client_wallet', %s, %s, %s) RETURNING id""",
            (f"wallet:{client_id}:{currency}", currency, brand_id(conn), client_id),
        )
    )
    conn.execute(
        "INSERT INTO wallets (client_id, currency, ledger_account_id) VALUES (%s, %s, %s)",
        (client_id, currency, ledger_id),
    )
    return ledger_id


def transfer(
    conn: psycopg.Connection[Any],
    kind: str,
    currency: str,
    legs: list[tuple[int, Decimal]],
    at: datetime,
    description: str = "",
) -> int:
    """A balanced ledger transfer: legs are (ledger account, amount; debits positive), in one
    transaction (the balance is checked at commit)."""
    with conn.transaction():
        transfer_id = int(
            one(
                conn,
                """INSERT INTO ledger_transfers (idempotency_key, currency, kind, description,
                                                 created_at)
                   VALUES (%s, %s, %s, %s, %s) RETURNING id""",
                (f"test:{next(_keys)}", currency, kind, description, at),
            )
        )
        for ledger_account_id, amount in legs:
            conn.execute(
                """INSERT INTO ledger_entries (transfer_id, ledger_account_id, currency, amount)
                   VALUES (%s, %s, %s, %s)""",
                (transfer_id, ledger_account_id, currency, amount),
            )
    return transfer_id


def trading_deposit(
    conn: psycopg.Connection[Any], acc: Account, amount: Decimal, at: datetime
) -> int:
    """Money into a trading account from the client's wallet (as the service posts it);
    a negative amount is a withdrawal. The trading account's entry is the negated leg."""
    source = wallet_of(conn, acc)
    kind = "trading_deposit" if amount > 0 else "trading_withdrawal"
    return transfer(
        conn, kind, acc.currency, [(acc.ledger_account_id, -amount), (source, amount)], at
    )


def wallet_of(conn: psycopg.Connection[Any], acc: Account) -> int:
    row = conn.execute(
        "SELECT ledger_account_id FROM wallets WHERE client_id = %s AND currency = %s",
        (acc.client_id, acc.currency),
    ).fetchone()
    return int(row[0]) if row else wallet(conn, acc.client_id, acc.currency)


def trading_result(
    conn: psycopg.Connection[Any], acc: Account, kind: str, amount: Decimal, at: datetime
) -> int:
    """A trading result as the service posts it (kind: pnl, commission, swap, write_off)."""
    counterpart = {
        "pnl": "broker_equity",
        "commission": "revenue_commission",
        "swap": "revenue_swap",
        "write_off": "negative_balance_writeoff",
    }[kind]
    other = broker_ledger_account(conn, counterpart, acc.currency)
    return transfer(
        conn, "trading_result", acc.currency,
        [(acc.ledger_account_id, -amount), (other, amount)], at, f"{kind} deal",
    )  # fmt: skip


def position(
    conn: psycopg.Connection[Any],
    acc: Account,
    symbol: str,
    side: str,
    volume: Decimal,
    open_price: Decimal,
    opened_at: datetime,
    *,
    closed_at: datetime | None = None,
    close_price: Decimal | None = None,
) -> int:
    return int(
        one(
            conn,
            """INSERT INTO positions (trading_account_id, instrument_id, side, volume,
                                      open_price, status, opened_at, closed_at, close_price)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (
                acc.id,
                instrument_id(conn, symbol),
                side,
                volume,
                open_price,
                "CLOSED" if closed_at else "OPEN",
                opened_at,
                closed_at,
                close_price,
            ),
        )
    )


def deal(
    conn: psycopg.Connection[Any],
    acc: Account,
    position_id: int,
    symbol: str,
    side: str,
    entry: str,
    volume: Decimal,
    price: Decimal,
    at: datetime,
    *,
    profit: Decimal = Decimal(0),
    commission: Decimal = Decimal(0),
    swap: Decimal = Decimal(0),
    routed: str = "B",
    lp: str | None = None,
    lp_price: Decimal | None = None,
) -> int:
    """A deal; an A-book deal gets its LP order filled at `lp_price`. With money, the ledger
    postings the service would make on the same account are written too."""
    lp_ref = lp_id(conn, lp or "lp-alpha") if routed == "A" else None
    lp_order_id = None
    inst = instrument_id(conn, symbol)
    if lp_ref is not None:
        lp_order_id = one(
            conn,
            """INSERT INTO lp_orders (cl_ord_id, lp_id, instrument_id, purpose, side, type,
                                      time_in_force, volume, status, cum_qty, avg_px)
               VALUES (%s, %s, %s, 'A_BOOK', %s, 'MARKET', 'IOC', %s, 'FILLED', %s, %s)
               RETURNING id""",
            (f"t-{next(_keys)}", lp_ref, inst, side, volume, volume, lp_price or price),
        )
    deal_id = int(
        one(
            conn,
            """INSERT INTO deals (executed_at, trading_account_id, position_id, instrument_id,
                                  side, entry, volume, price, profit, commission, swap, routed,
                                  lp_id, lp_order_id)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (
                at,
                acc.id,
                position_id,
                inst,
                side,
                entry,
                volume,
                price,
                profit,
                commission,
                swap,
                routed,
                lp_ref,
                lp_order_id,
            ),
        )
    )
    for kind, amount in (("pnl", profit), ("commission", commission), ("swap", swap)):
        if amount:
            trading_result(conn, acc, kind, amount, at)
    return deal_id


def statement(
    conn: psycopg.Connection[Any],
    acc: Account,
    cut: datetime,
    *,
    balance: Decimal,
    credit: Decimal = Decimal(0),
    floating: Decimal = Decimal(0),
    margin: Decimal = Decimal(0),
) -> None:
    """An account valued at a cut (as the execution core journals it)."""
    equity = balance + credit + floating
    level = None if not margin else round(equity / margin * 100, 2)
    conn.execute(
        """INSERT INTO account_statements (trading_account_id, cut, currency, balance, credit,
               floating_profit, equity, margin, free_margin, margin_level, valued, applied_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true, %s)""",
        (acc.id, cut, acc.currency, balance, credit, floating, equity, margin,
         equity - margin, level, cut),
    )  # fmt: skip


def position_statement(
    conn: psycopg.Connection[Any],
    acc: Account,
    position_id: int,
    cut: datetime,
    *,
    symbol: str,
    side: str,
    volume: Decimal,
    open_price: Decimal,
    close_price: Decimal,
    profit: Decimal,
    swap: Decimal = Decimal(0),
    book: str = "b",
) -> None:
    conn.execute(
        """INSERT INTO position_statements (position_id, cut, trading_account_id,
               instrument_id, side, volume, open_price, close_price, profit, swap, book)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (position_id, cut, acc.id, instrument_id(conn, symbol), side, volume, open_price,
         close_price, profit, swap, book),
    )  # fmt: skip


def cut_rates(conn: psycopg.Connection[Any], cut: datetime, rates: dict[str, Decimal]) -> None:
    for currency, rate in rates.items():
        conn.execute(
            "INSERT INTO cut_rates (cut, currency, usd_rate) VALUES (%s, %s, %s)",
            (cut, currency, rate),
        )


def payment(
    conn: psycopg.Connection[Any],
    client_id: int,
    direction: str,
    amount: Decimal,
    currency: str,
    at: datetime,
    *,
    status: str = "succeeded",
    psp: str = "card-sim",
    method: str = "card",
    payer_name: str | None = None,
    payer_country: str | None = None,
) -> int:
    return int(
        one(
            conn,
            """INSERT INTO payments (client_id, psp, psp_payment_id, idempotency_key, direction,
                                     method, amount, currency, status, payer_name,
                                     payer_country, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (
                client_id,
                psp,
                f"p-{next(_keys)}",
                f"pay-{next(_keys)}",
                direction,
                method,
                amount,
                currency,
                status,
                payer_name,
                payer_country,
                at,
                at,
            ),
        )
    )
