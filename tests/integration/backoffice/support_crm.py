"""Brands, staff, clients and trading rows for the CRM's tests, written as their writers do."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from backoffice.audit import Actor
from backoffice.crm.site_keys import create_site_key

_logins = itertools.count(80_000_001)
ADMIN = Actor.system("test")


def add_brand(conn: psycopg.Connection[Any], code: str) -> int:
    row = conn.execute(
        "INSERT INTO brands (code, name) VALUES (%s, %s) RETURNING id", (code, code.title())
    ).fetchone()
    assert row is not None
    return int(row[0])


def brand_id(conn: psycopg.Connection[Any], code: str = "demo") -> int:
    row = conn.execute("SELECT id FROM brands WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def site_key(conn: psycopg.Connection[Any], code: str = "demo") -> str:
    return create_site_key(conn, ADMIN, code, "website")


def add_staff(
    conn: psycopg.Connection[Any],
    email: str,
    roles: tuple[str, ...] = ("sales",),
    brand: int | None = None,
    enabled: bool = True,
) -> int:
    row = conn.execute(
        "INSERT INTO staff_users (brand_id, email, display_name, enabled)"
        " VALUES (%s, %s, %s, %s) RETURNING id",
        (brand, email, email.split("@")[0].title(), enabled),
    ).fetchone()
    assert row is not None
    # the brands the member works for: the one given, else every brand there is
    conn.execute(
        "INSERT INTO staff_brand_scopes (staff_user_id, brand_id)"
        " SELECT %s, id FROM brands WHERE %s::bigint IS NULL OR id = %s",
        (row[0], brand, brand),
    )
    for role in roles:
        conn.execute("INSERT INTO roles (code) VALUES (%s) ON CONFLICT DO NOTHING", (role,))
        conn.execute(
            "INSERT INTO staff_user_roles (staff_user_id, role_id)"
            " SELECT %s, id FROM roles WHERE code = %s",
            (row[0], role),
        )
    return int(row[0])


def add_client(
    conn: psycopg.Connection[Any],
    email: str,
    brand: int,
    created_at: datetime | None = None,
    country: str = "DE",
) -> int:
    row = conn.execute(
        "INSERT INTO clients (brand_id, email, first_name, last_name, country, created_at)"
        " VALUES (%s, %s, 'Test', 'Client', %s, coalesce(%s, now())) RETURNING id",
        (brand, email, country, created_at),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_account(conn: psycopg.Connection[Any], client_id: int, group: str = "demo-usd") -> int:
    """A trading account of ``group`` (the seed's demo brand groups: demo-usd, live-usd...)."""
    row = conn.execute(
        "INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency)"
        " SELECT %s, %s, id, account_kind, deposit_currency FROM account_groups"
        " WHERE code = %s RETURNING id",
        (next(_logins), client_id, group),
    ).fetchone()
    assert row is not None, group
    return int(row[0])


def add_deal(
    conn: psycopg.Connection[Any],
    account_id: int,
    at: datetime,
    entry: str = "IN",
    symbol: str = "EURUSD",
    side: str = "BUY",
    volume: str = "0.10",
) -> int:
    row = conn.execute(
        "INSERT INTO deals (executed_at, trading_account_id, instrument_id, side, entry, volume,"
        " price, routed) SELECT %s, %s, id, %s, %s, %s, 1.1, 'B' FROM instruments"
        " WHERE symbol = %s RETURNING id",
        (at, account_id, side, entry, Decimal(volume), symbol),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_trading_event(
    conn: psycopg.Connection[Any], account_id: int, at: datetime, kind: str = "margin_call"
) -> None:
    """As the event writer lands the execution service's margin calls and stop-outs."""
    conn.execute(
        "INSERT INTO trading_events (occurred_at, account_id, event_type, position_id,"
        " margin_level, equity, margin) VALUES (%s, %s, %s, %s, 80, 800, 1000)",
        (at, account_id, kind, 1 if kind == "stop_out" else None),
    )


def add_deposit(
    conn: psycopg.Connection[Any], client_id: int, at: datetime, status: str = "succeeded"
) -> None:
    conn.execute(
        "INSERT INTO payments (client_id, psp, idempotency_key, direction, method, amount,"
        " currency, status, created_at, updated_at)"
        " VALUES (%s, 'sim', gen_random_uuid()::text, 'deposit', 'card', 100, 'USD', %s, %s, %s)",
        (client_id, status, at, at),
    )


def add_login(conn: psycopg.Connection[Any], client_id: int, at: datetime) -> None:
    """A refresh token as the api issues it at each login."""
    conn.execute(
        "INSERT INTO api_refresh_tokens (id, family_id, client_id, issued_at, expires_at)"
        " VALUES (gen_random_uuid(), gen_random_uuid(), %s, %s, %s + interval '30 days')",
        (client_id, at, at),
    )
