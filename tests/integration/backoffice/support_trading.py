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

from backoffice.commands import RedisCommands
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
