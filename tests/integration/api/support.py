"""Clients, accounts and prices for api tests, written the way the real writers write them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import redis

from api.quotes import last_quote_field
from api.security import hash_password
from brokerstack.streams import LAST_QUOTES_HASH, QUOTES_CHANNEL
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
