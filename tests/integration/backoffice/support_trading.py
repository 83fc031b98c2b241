"""Builders for the trading admin tests: staff, a client's account in a group of its own, and
the real execution service (in this process, prices set by the test) reached over Redis."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import redis

from backoffice.audit import Actor
from backoffice.commands import RedisCommands
from backoffice.trading.actions import balance_correction
from execution import contracts as c
from execution.service.client import CommandClient
from execution.service.loop import LoopOptions
from tests.integration.execution.conftest import Desk, launch
from tests.integration.execution.support import TestAccount, create_account, create_group

_serial = itertools.count(1)
# the service's own look at the warehouse's account flags never comes during a test: what
# reaches it, reaches it through the commands
NO_REFRESH = LoopOptions(refresh_interval_ns=3_600_000_000_000)


def add_staff(conn: psycopg.Connection[Any], brand: str | None = "demo") -> int:
    serial = next(_serial) + os.getpid() * 1_000
    row = conn.execute(
        """INSERT INTO staff_users (brand_id, email, display_name)
           VALUES ((SELECT id FROM brands WHERE code = %s), %s, 'Staff') RETURNING id""",
        (brand, f"staff{serial}@example.com"),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class Trading:
    desk: Desk
    commands: RedisCommands
    account: TestAccount

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.desk.rows(query, *params)


@contextmanager
def trading(
    db_url: str, redis_url: str, kind: str = "demo", kyc_level: int = 2, timeout: float = 10
) -> Iterator[Trading]:
    """A group of `kind` (leverage 100, professional, netting, BTCUSD quoted 64000/64001)
    with one account of 10,000 USD, and the execution service."""
    with psycopg.connect(db_url) as conn:
        group = create_group(conn, code=f"bo-{kind}-{next(_serial)}", kind=kind)
        account = create_account(conn, group, Decimal(10_000), kind=kind, kyc_level=kyc_level)
    running = launch(db_url, redis_url, NO_REFRESH)
    client = redis.Redis.from_url(redis_url)
    commands = RedisCommands(redis_url, timeout=timeout)
    try:
        desk = Desk(
            running.service, running.inbox, running.lps, CommandClient(client), client, db_url,
            account, group, running,
        )  # fmt: skip
        desk.quote("BTCUSD", "64000.00", "64001.00")
        yield Trading(desk, commands, account)
    finally:
        running.stop()
        commands.close()
        client.close()


# --- for the access matrix: a brand's trading objects, no execution service ----------------


class AcceptingCommands:
    """An execution service that accepts every command and changes nothing (the access
    matrix asks who may act, not what acting does)."""

    def execute(self, command: c.Command) -> c.Reply:
        return c.Accepted(request_id=command.request_id)


@dataclass(frozen=True)
class BrandAccount:
    group: str  # the code of a group of the brand
    account_id: int
    position_id: int  # open


def add_brand_account(db_url: str, brand_id: int, client_id: int) -> BrandAccount:
    """A professional group of the brand, an account of the client in it, an open position."""
    code = f"matrix-{brand_id}-{next(_serial)}"
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """INSERT INTO account_groups (brand_id, code, name, account_kind, deposit_currency,
                   leverage, margin_call_level, stop_out_level, position_mode, client_category,
                   negative_balance_protection, routing_policy_id)
               SELECT %s, %s, %s, 'demo', 'USD', 100, 100, 50, 'netting', 'professional', true,
                      id FROM routing_policies WHERE code = 'demo-internal'
               RETURNING id""",
            (brand_id, code, code),
        ).fetchone()
        assert row is not None
        account = conn.execute(
            """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency,
                   balance)
               VALUES (%s, %s, %s, 'demo', 'USD', 1000) RETURNING id""",
            (next(_serial) + os.getpid() * 10_000 + 5_000_000, client_id, row[0]),
        ).fetchone()
        assert account is not None
        position = conn.execute(
            """INSERT INTO positions (trading_account_id, instrument_id, side, volume,
                   open_price, opened_at)
               SELECT %s, id, 'BUY', 0.01, 64000, now() FROM instruments WHERE symbol = 'BTCUSD'
               RETURNING id""",
            (account[0],),
        ).fetchone()
        assert position is not None
    return BrandAccount(code, int(account[0]), int(position[0]))


def add_pending_request(db_url: str, maker_id: int, account_id: int) -> str:
    """A balance correction above the threshold waiting for a checker; its request id."""
    request_id = f"pending-{account_id}-{next(_serial)}"
    with psycopg.connect(db_url) as conn:
        balance_correction(
            conn, AcceptingCommands(), Actor.staff(maker_id), None, request_id=request_id,
            account_id=account_id, amount=Decimal(5000), comment="", threshold=Decimal(1000),
        )  # fmt: skip
    return request_id
