"""The execution service on a seeded warehouse and a real Redis: in this process (a thread,
with prices the test sets) or as its own process (random-walk prices, killable)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import redis

from execution.inbox import Inbox, LpQuote
from execution.lp import InProcessLp, LpGateway
from execution.service.client import CommandClient
from execution.service.committer import JournalUnavailable
from execution.service.demo_lps import InProcessGateway
from execution.service.loop import ExecutionService, LoopOptions
from execution.service.publisher import Publisher
from execution.service.reader import CommandReader
from execution.service.shard import Shard
from tests.integration.execution.support import TestAccount, create_account, create_group

# back-office changes to accounts are seen within a fifth of a second
FAST = LoopOptions(refresh_interval_ns=200_000_000)


class Subscription:
    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._pubsub: Any = client.pubsub()  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(channel)
        self._pubsub.get_message(timeout=1)  # the confirmation

    def next(self, timeout: float = 5.0) -> bytes | None:
        """The next message's data, or None when none comes in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._pubsub.get_message(timeout=0.2)
            if message is not None and message["type"] == "message":
                return bytes(message["data"])
        return None


@dataclass
class Running:
    service: ExecutionService
    inbox: Inbox
    lps: dict[str, InProcessLp]
    stop: Callable[[], None]
    errors: list[JournalUnavailable]


@dataclass
class Desk:
    """A running in-process service and what a test drives it with."""

    service: ExecutionService
    inbox: Inbox
    lps: dict[str, InProcessLp]
    client: CommandClient
    redis: redis.Redis
    db_url: str
    account: TestAccount
    group_id: int
    running: Running

    def quote(self, symbol: str, bid: str, ask: str, lp: str = "lp-alpha") -> None:
        """Set the LP's price and wait until the service publishes it."""
        before = self.redis.xlen("ticks")
        self.lps[lp].quote(symbol, Decimal(bid), Decimal(ask))
        self.inbox.put(LpQuote(lp, symbol, Decimal(bid), Decimal(ask), time.time_ns()))
        deadline = time.monotonic() + 10
        while self.redis.xlen("ticks") == before:
            assert time.monotonic() < deadline, "the service published no price"
            time.sleep(0.01)

    def entries(self, stream: str) -> list[dict[bytes, bytes]]:
        raw: Any = self.redis.xrange(stream)
        return [fields for _, fields in raw]

    def hash_field(self, key: str, field: str) -> bytes | None:
        value: Any = self.redis.hget(key, field)
        return None if value is None else bytes(value)

    def subscribe(self, channel: str) -> Subscription:
        return Subscription(self.redis, channel)

    def new_account(self, balance: str = "10000") -> TestAccount:
        with psycopg.connect(self.db_url) as conn:
            return create_account(conn, self.group_id, Decimal(balance))

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(query, params).fetchall()


def launch(
    db_url: str,
    redis_url: str,
    options: LoopOptions = FAST,
    clock: Callable[[], int] = time.time_ns,
) -> Running:
    """The service's composition (as ``execution.service.main`` wires it) on a thread, with
    in-process LPs whose prices the test sets (and, for tests of the calendar, its clock)."""
    shard = Shard()
    inbox = Inbox()
    reader = CommandReader(
        redis.Redis.from_url(redis_url), shard.commands_stream, shard.consumer, inbox
    )
    reader.ensure_group()
    gateways: dict[str, LpGateway] = {}
    service = ExecutionService(
        lambda: psycopg.connect(db_url, autocommit=True),
        Publisher(redis.Redis.from_url(redis_url), shard.commands_stream),
        inbox,
        gateways,
        shard,
        options,
        clock,
    )
    lps = {code: InProcessLp(code) for code in service.reference.lp_ids}
    gateways.update(dict.fromkeys(lps, InProcessGateway(lps, inbox)))
    service.recover(reader.pending())
    reader.start()
    errors: list[JournalUnavailable] = []

    def run() -> None:
        try:
            service.run()
        except JournalUnavailable as error:
            errors.append(error)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()

    def stop() -> None:
        service.stopping.set()
        runner.join(timeout=30)
        reader.stop()
        service.conn.close()

    return Running(service, inbox, lps, stop, errors)


DeskFactory = Callable[..., Desk]


@pytest.fixture
def start_desk(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis
) -> Iterator[DeskFactory]:
    """Start a service on a group of the given routing policy, quoting BTCUSD 64000/64001."""
    stops: list[Callable[[], None]] = []

    def start(policy: str = "demo-internal") -> Desk:
        with psycopg.connect(seeded_db_url) as conn:
            group_id = create_group(conn, policy=policy)
            account = create_account(conn, group_id, Decimal(10_000))
        running = launch(seeded_db_url, redis_url)
        stops.append(running.stop)
        desk = Desk(
            running.service, running.inbox, running.lps, CommandClient(redis_client),
            redis_client, seeded_db_url, account, group_id, running,
        )  # fmt: skip
        desk.quote("BTCUSD", "64000.00", "64001.00")
        return desk

    try:
        yield start
    finally:
        for stop in stops:
            stop()


@pytest.fixture
def desk(start_desk: DeskFactory) -> Desk:
    return start_desk()
