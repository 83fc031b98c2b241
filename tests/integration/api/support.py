"""Clients, accounts and prices for api tests, written the way the real writers write them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import redis

from api.quotes import last_quote_field
from api.security import hash_password
from brokerstack.streams import (
    ACCOUNT_EVENTS_CHANNEL,
    ACCOUNT_STATES_HASH,
    LAST_QUOTES_HASH,
    QUOTE_STATES_HASH,
    QUOTES_CHANNEL,
)
from execution import contracts

_logins = itertools.count(70_000_001)
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Party:
    client_id: int
    email: str
    account_id: int
    group: str
    password: str = PASSWORD


def add_client(
    db_url: str,
    email: str,
    group: str = "demo-usd",
    balance: Decimal = Decimal(10_000),
    password: str = PASSWORD,
) -> Party:
    """A client of the demo brand with one trading account in ``group``."""
    with psycopg.connect(db_url) as conn:
        brand_id, group_id, kind, currency = conn.execute(
            "SELECT brand_id, id, account_kind, deposit_currency FROM account_groups "
            "WHERE code = %s",
            (group,),
        ).fetchone() or (None, None, None, None)
        assert brand_id is not None, group
        client_id = conn.execute(
            "INSERT INTO clients (brand_id, email, first_name, last_name, country, kyc_level,"
            " password_hash) VALUES (%s, %s, 'Test', 'Client', 'DE', 3, %s) RETURNING id",
            (brand_id, email, hash_password(password)),
        ).fetchone()[0]  # type: ignore[index]
        account_id = conn.execute(
            "INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency,"
            " balance) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (next(_logins), client_id, group_id, kind, currency, balance),
        ).fetchone()[0]  # type: ignore[index]
    return Party(client_id, email, account_id, group, password)


def publish_tick(
    client: redis.Redis, group: str, symbol: str, bid: str, ask: str, time_ns: int
) -> None:
    """A client price as the execution service publishes it."""
    tick = contracts.Tick(
        group=group, symbol=symbol, bid=Decimal(bid), ask=Decimal(ask), time=time_ns
    )
    data = contracts.encode(tick)
    client.hset(LAST_QUOTES_HASH, last_quote_field(group, symbol), data)
    client.publish(QUOTES_CHANNEL.format(symbol=symbol), data)


def publish_quote_state(
    client: redis.Redis, symbol: str, live: bool, reason: str, time_ns: int
) -> None:
    """A symbol going off quotes or coming back, as the execution service publishes it."""
    data = contracts.encode(
        contracts.QuoteState(symbol=symbol, live=live, reason=reason, time=time_ns)
    )
    client.hset(QUOTE_STATES_HASH, symbol, data)
    client.publish(QUOTES_CHANNEL.format(symbol=symbol), data)


def publish_account_state(client: redis.Redis, state: contracts.AccountState) -> None:
    """An account as the execution core values it, published as the service publishes it."""
    data = contracts.encode(state)
    client.hset(ACCOUNT_STATES_HASH, str(state.account_id), data)
    client.publish(ACCOUNT_EVENTS_CHANNEL.format(account_id=state.account_id), data)


def open_position(
    db_url: str, party: Party, symbol: str, side: str, volume: str, open_price: str
) -> int:
    """An open position row as the execution service journals it."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO positions (trading_account_id, instrument_id, side, volume, open_price,"
            " swap, commission, opened_at, status)"
            " SELECT %s, id, %s, %s, %s, -1.5, -0.7, now(), 'OPEN' FROM instruments"
            " WHERE symbol = %s RETURNING id",
            (party.account_id, side.upper(), Decimal(volume), Decimal(open_price), symbol),
        ).fetchone()
    assert row is not None
    return int(row[0])
