"""A command whose sender stopped waiting (its deadline passed) is never executed later at
another price: the service refuses it, and the sender's retry executes once."""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec
import psycopg
import redis

from execution import contracts as c
from execution.service.client import CommandClient
from tests.integration.execution.conftest import launch
from tests.integration.execution.support import create_account, create_group, place
from tests.integration.execution.test_service_rollover import _priced


def test_a_command_past_its_deadline_waits_out_a_restart_and_is_refused_not_executed(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn)
        account = create_account(conn, group, Decimal(10_000))
    client = CommandClient(redis_client)
    # the api sent it with its 10 s timeout, answered 504 and gave up; the service was down
    late = place("late", account.account_id, "buy", "0.01", deadline=time.time_ns() + 10**9)
    client.send(late)
    time.sleep(1.2)
    running = launch(seeded_db_url, redis_url)
    try:
        _priced(running, time.time_ns)
        refused = client.wait(["late"], timeout=20)["late"]
        assert isinstance(refused, c.Rejected)
        assert refused.code is c.RejectCode.COMMAND_EXPIRED
        with psycopg.connect(seeded_db_url) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
            # not journaled as the request's answer: the retry below is its answer
            assert conn.execute("SELECT count(*) FROM command_journal").fetchone() == (0,)
        # the client retries with the same id (and a new deadline): it executes, once
        client.received.clear()
        retry = msgspec.structs.replace(late, deadline=time.time_ns() + 10 * 10**9)
        done = client.request(retry, timeout=20)
        assert isinstance(done, c.Accepted)
        client.received.clear()
        again = client.request(msgspec.structs.replace(late, deadline=None), timeout=20)
        assert again == done
        client.received.clear()
        changed = client.request(
            msgspec.structs.replace(late, volume=Decimal("0.02"), deadline=None), timeout=20
        )
        assert isinstance(changed, c.Rejected)
        assert changed.code is c.RejectCode.IDEMPOTENCY_CONFLICT
        with psycopg.connect(seeded_db_url) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    finally:
        running.stop()
