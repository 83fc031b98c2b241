"""A million ticks through writers that are SIGKILLed at random moments: every tick lands once."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import redis

from brokerstack.streams import TICK_WRITERS_GROUP, TICKS_STREAM
from tests.integration.ingest.support import numbered_ticks, publish, start_writer

TOTAL = 1_000_000
TICKS_PER_ENTRY = 100
ENTRIES_PER_PIPELINE = 200
KILLS = 6


def _publish_all(client: redis.Redis, base: datetime, done: threading.Event) -> None:
    step = TICKS_PER_ENTRY * ENTRIES_PER_PIPELINE
    for first in range(0, TOTAL, step):
        ticks = numbered_ticks(base, first, step)
        publish(client, [ticks[i : i + TICKS_PER_ENTRY] for i in range(0, step, TICKS_PER_ENTRY)])
        time.sleep(0.02)  # spread the load over the kills
    done.set()


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM ticks").fetchone()
    assert row is not None
    return int(row[0])


def _pending(client: redis.Redis) -> int:
    return int(client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"])


def test_sigkilled_writers_load_every_tick_exactly_once(
    db_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    rng = random.Random()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    options = ("--claim-idle-ms", "300", "--housekeeping-seconds", "0.2")
    writers = {
        name: start_writer(db_url, redis_url, name, *options) for name in ("writer-a", "writer-b")
    }
    published = threading.Event()
    publisher = threading.Thread(target=_publish_all, args=(redis_client, base, published))
    publisher.start()
    killed: list[str] = []
    try:
        for kill in range(KILLS):
            time.sleep(rng.uniform(0.3, 1.2))
            victim = rng.choice(sorted(writers))
            writers[victim].send_signal(signal.SIGKILL)
            writers[victim].wait()
            killed.append(victim)
            # Half the restarts reuse the name (own pending entries), half are a new writer
            # (the dead one's pending entries must be claimed).
            name = victim if kill % 2 == 0 else f"{victim}-{kill}"
            del writers[victim]
            writers[name] = start_writer(db_url, redis_url, name, *options)
        publisher.join()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if _count(db_url) >= TOTAL and _pending(redis_client) == 0:
                break
            time.sleep(0.25)
        for process in writers.values():
            assert process.poll() is None, process.stderr.read() if process.stderr else b""
    finally:
        publisher.join()
        for process in writers.values():
            process.send_signal(signal.SIGTERM)
        for process in writers.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    assert len(killed) == KILLS
    assert published.is_set()
    base_us = int(base.timestamp()) * 1_000_000
    with psycopg.connect(db_url) as conn:
        count, distinct, first, last, wrong = conn.execute(
            """
            SELECT count(*), count(DISTINCT time),
                   min(time), max(time),
                   count(*) FILTER (WHERE abs(bid - 1.0 - (((extract(epoch FROM time)
                       * 1000000)::bigint - %s) %% 1000) / 100000.0) > 1e-12)
            FROM ticks
            """,
            (base_us,),
        ).fetchone() or (0, 0, None, None, 0)
        rejects = conn.execute("SELECT count(*) FROM ingest_rejects").fetchone()
    assert count == TOTAL  # none missing, none twice ...
    assert distinct == TOTAL  # ... each tick exactly once
    assert first == base
    assert last == base + timedelta(microseconds=TOTAL - 1)
    assert wrong == 0
    assert rejects == (0,)
    assert _pending(redis_client) == 0
