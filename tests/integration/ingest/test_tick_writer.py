"""The tick writer's exactly-once behaviour at each crash point, side by side, and on bad input."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import redis
from prometheus_client import REGISTRY
from psycopg.pq import TransactionStatus

from brokerstack.streams import (
    TICK_BATCH_HEADER,
    TICK_BATCH_VERSION,
    TICK_WRITERS_GROUP,
    TICKS_STREAM,
    Tick,
    decode_ticks,
    encode_ticks,
)
from ingest.consumer import StreamConsumer
from ingest.ticks import drain, tick_writer
from ingest.writer import StreamWriter, WriterOptions
from tests.integration.ingest.support import numbered_ticks, publish
from warehouse.db import connect

IDLE = TransactionStatus.IDLE
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with connect(db_url, autocommit=True) as connection:
        yield connection


def _scalar(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _batches(count: int, per_entry: int = 10) -> list[list[Tick]]:
    ticks = numbered_ticks(BASE, 0, count * per_entry)
    return [ticks[i : i + per_entry] for i in range(0, len(ticks), per_entry)]


class _NoAckConsumer(StreamConsumer):
    """A consumer that dies between the warehouse commit and the Redis acknowledgement."""

    def ack(self, entry_ids: Sequence[bytes]) -> None:
        del entry_ids


def _writer(conn: psycopg.Connection[Any], client: redis.Redis, name: str) -> StreamWriter:
    return tick_writer(conn, client, name, WriterOptions(batch_entries=7))


def test_two_writers_share_the_stream_without_overlap(
    conn: psycopg.Connection[Any], redis_client: redis.Redis, db_url: str
) -> None:
    publish(redis_client, _batches(60))
    with connect(db_url, autocommit=True) as other:
        first, second = _writer(conn, redis_client, "a"), _writer(other, redis_client, "b")
        first.start()
        second.start()
        while first.step(block_ms=0) + second.step(block_ms=0):
            pass
    assert first.metrics.rows_total > 0
    assert second.metrics.rows_total > 0
    assert first.metrics.rows_total + second.metrics.rows_total == 600
    assert _scalar(conn, "SELECT count(DISTINCT time) FROM ticks") == 600
    assert _scalar(conn, "SELECT count(*) FROM ticks") == 600
    offsets = conn.execute("SELECT consumer FROM stream_offsets ORDER BY consumer").fetchall()
    assert offsets == [("a",), ("b",)]


def test_entries_committed_but_not_acknowledged_are_not_loaded_again(
    conn: psycopg.Connection[Any], redis_client: redis.Redis
) -> None:
    publish(redis_client, _batches(20))
    crashing = _writer(conn, redis_client, "w")
    crashing.consumer = _NoAckConsumer(redis_client, TICKS_STREAM, TICK_WRITERS_GROUP, "w")
    crashing.start()
    while crashing.step(block_ms=0):
        pass
    assert redis_client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"] == 20

    restarted = _writer(conn, redis_client, "w")
    restarted.start()  # settles its own pending entries: already in the warehouse

    assert _scalar(conn, "SELECT count(*) FROM ticks") == 200
    assert restarted.metrics.redelivered_skipped_total == 20
    assert redis_client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"] == 0


def test_entries_delivered_but_never_loaded_are_loaded_after_a_restart(
    conn: psycopg.Connection[Any], redis_client: redis.Redis
) -> None:
    publish(redis_client, _batches(20))
    dead = StreamConsumer(redis_client, TICKS_STREAM, TICK_WRITERS_GROUP, "w")
    dead.ensure_group()
    assert len(dead.read_new(12, None)) == 12  # delivered, then the writer died

    restarted = _writer(conn, redis_client, "w")
    restarted.start()
    assert _scalar(conn, "SELECT count(*) FROM ticks") == 120
    while restarted.step(block_ms=0):
        pass
    assert _scalar(conn, "SELECT count(*) FROM ticks") == 200


def test_a_dead_writers_pending_entries_are_claimed_once(
    conn: psycopg.Connection[Any], redis_client: redis.Redis
) -> None:
    publish(redis_client, _batches(30))
    committed_then_died = _writer(conn, redis_client, "dead")
    committed_then_died.consumer = _NoAckConsumer(
        redis_client, TICKS_STREAM, TICK_WRITERS_GROUP, "dead"
    )
    committed_then_died.start()
    committed_then_died.load(committed_then_died.consumer.read_new(10, None), redelivered=False)
    committed_then_died.consumer.read_new(10, None)  # delivered, never loaded

    survivor = _writer(conn, redis_client, "survivor")
    loaded = drain(survivor)

    assert loaded == 200  # the 10 unloaded claimed entries and the 10 never delivered
    assert survivor.metrics.redelivered_skipped_total == 10
    assert _scalar(conn, "SELECT count(DISTINCT time) FROM ticks") == 300
    assert _scalar(conn, "SELECT count(*) FROM ticks") == 300


def test_a_batch_loaded_elsewhere_while_its_first_reader_was_slow_is_not_loaded_twice(
    conn: psycopg.Connection[Any], redis_client: redis.Redis, db_url: str
) -> None:
    publish(redis_client, _batches(10))
    slow = _writer(conn, redis_client, "slow")
    slow.consumer.ensure_group()
    held = slow.consumer.read_new(10, None)  # read, then the writer stalls

    with connect(db_url, autocommit=True) as other:
        fast = _writer(other, redis_client, "fast")
        assert drain(fast) == 100  # claims the stalled entries, loads, acknowledges, trims
    slow.load(held, redelivered=False)  # the stalled writer wakes up with its old batch

    assert _scalar(conn, "SELECT count(*) FROM ticks") == 100
    assert slow.metrics.redelivered_skipped_total == 10


def test_overlapped_loading_on_two_connections_loads_each_tick_once_in_stream_order(
    conn: psycopg.Connection[Any], redis_client: redis.Redis, db_url: str
) -> None:
    ticks = numbered_ticks(BASE, 0, 400)
    refused = Tick(ticks[0].time_ns + 500_000, "EURUSD", "lp-alpha", math.nan, 1.1)
    batches = [ticks[i : i + 10] for i in range(0, 400, 10)]
    batches[17] = [*batches[17], refused]  # refused by the database: the batch is retried
    ids = publish(redis_client, batches)
    undecodable = redis_client.xadd(TICKS_STREAM, {b"b": b"\x01 not a tick batch"})
    assert isinstance(undecodable, bytes)
    ids.append(undecodable)
    with connect(db_url, autocommit=True) as spare:
        writer = tick_writer(
            conn, redis_client, "w", WriterOptions(batch_entries=7, block_ms=10), spare=spare
        )
        writer.run(lambda: writer.metrics.entries_total >= len(ids))
        assert spare.info.transaction_status == conn.info.transaction_status == IDLE

    times = [row[0] for row in conn.execute("SELECT time FROM ticks ORDER BY time").fetchall()]
    assert times == [BASE + timedelta(microseconds=i) for i in range(400)]
    reasons = [row[0] for row in conn.execute("SELECT reason FROM ingest_rejects").fetchall()]
    assert len(reasons) == 2
    assert _scalar(conn, "SELECT count(*) FROM stream_entries") == len(ids)
    assert _scalar(conn, "SELECT last_id FROM stream_offsets") == ids[-1].decode()
    assert redis_client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"] == 0


def test_bad_entries_and_ticks_are_rejected_and_the_rest_loaded(
    conn: psycopg.Connection[Any], redis_client: redis.Redis
) -> None:
    good = numbered_ticks(BASE, 0, 4)
    nan_bid = Tick(good[0].time_ns + 10_000, "EURUSD", "lp-alpha", math.nan, 1.1)
    publish(redis_client, [good[:2]])
    redis_client.xadd(TICKS_STREAM, {b"b": b"\xc1 not msgpack"})
    redis_client.xadd(TICKS_STREAM, {b"other": b"x"})
    publish(redis_client, [[good[2], nan_bid, good[3]]])

    drain(_writer(conn, redis_client, "w"))

    assert _scalar(conn, "SELECT count(*) FROM ticks") == 4
    reasons = [
        row[0] for row in conn.execute("SELECT reason FROM ingest_rejects ORDER BY id").fetchall()
    ]
    assert len(reasons) == 3
    assert sum("undecodable" in reason for reason in reasons) == 2
    assert sum("positive and finite" in reason for reason in reasons) == 1
    assert redis_client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"] == 0


@pytest.mark.parametrize(
    ("bid", "ask"), [(math.nan, 1.1), (1.1, math.inf), (0.0, 1.1), (1.1, -1.1), (-math.inf, 1.1)]
)
def test_a_tick_the_warehouse_refuses_is_rejected_and_every_other_tick_loaded(
    conn: psycopg.Connection[Any], redis_client: redis.Redis, bid: float, ask: float
) -> None:
    good = numbered_ticks(BASE, 0, 30)
    refused = Tick(good[0].time_ns + 500_000, "EURUSD", "lp-alpha", bid, ask)
    publish(redis_client, [good[:10], [*good[10:15], refused, *good[15:20]], good[20:]])

    drain(_writer(conn, redis_client, "w"))

    loaded = conn.execute("SELECT time, bid FROM ticks ORDER BY time").fetchall()
    assert [(t, b) for t, b in loaded] == [
        (BASE + timedelta(microseconds=i), good[i].bid) for i in range(30)
    ]
    (reason, raw), *others = conn.execute("SELECT reason, raw FROM ingest_rejects").fetchall()
    assert others == []
    assert "positive and finite" in reason
    (kept,) = decode_ticks(raw)
    assert (kept.time_ns, kept.symbol) == (refused.time_ns, refused.symbol)
    assert redis_client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"] == 0


def _restated(data: bytes, count: int) -> bytes:
    """The batch with another tick count in its header."""
    _, _, earliest, latest = TICK_BATCH_HEADER.unpack_from(data)
    return (
        TICK_BATCH_HEADER.pack(TICK_BATCH_VERSION, count, earliest, latest)
        + data[TICK_BATCH_HEADER.size :]
    )


def _malformed(kind: str, data: bytes) -> bytes:
    header, tuples = data[: TICK_BATCH_HEADER.size], data[TICK_BATCH_HEADER.size :]
    if kind == "truncated":
        return data[:-3]
    if kind == "garbage tuples":
        return header + bytes(range(256))[: len(tuples)]
    if kind == "more tuples than the header says":
        return _restated(data, 4)
    return header + tuples.replace(b"\x00\x05", b"\x00\x04", 1)  # a field short


@pytest.mark.parametrize(
    "kind",
    ["truncated", "garbage tuples", "more tuples than the header says", "a field missing"],
)
def test_a_malformed_entry_that_passes_the_header_check_is_rejected_whole(
    conn: psycopg.Connection[Any], redis_client: redis.Redis, kind: str
) -> None:
    ticks = numbered_ticks(BASE, 0, 15)
    malformed = _malformed(kind, encode_ticks(ticks[5:10]))
    publish(redis_client, [ticks[:5]])
    redis_client.xadd(TICKS_STREAM, {b"b": malformed})
    publish(redis_client, [ticks[10:]])

    drain(_writer(conn, redis_client, "w"))

    times = [row[0] for row in conn.execute("SELECT time FROM ticks ORDER BY time").fetchall()]
    assert times == [BASE + timedelta(microseconds=i) for i in [*range(5), *range(10, 15)]]
    rejects = conn.execute("SELECT reason, raw FROM ingest_rejects").fetchall()
    assert rejects == [(rejects[0][0], malformed)]
    assert "undecodable" in rejects[0][0]
    assert redis_client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"] == 0


def test_the_stream_is_trimmed_only_below_what_every_group_acknowledged(
    conn: psycopg.Connection[Any], redis_client: redis.Redis
) -> None:
    ids = publish(redis_client, _batches(400, per_entry=1))
    redis_client.xgroup_create(TICKS_STREAM, "archiver", id="0")
    archiver = StreamConsumer(redis_client, TICKS_STREAM, "archiver", "x")
    archiver.read_new(300, None)  # read, acknowledged only up to the 250th
    archiver.ack(ids[:250])

    writer = tick_writer(conn, redis_client, "w", WriterOptions(entry_memory_seconds=0))
    drain(writer)

    assert writer.consumer.safe_trim_point() == ids[250]
    remaining = {entry_id for entry_id, _ in redis_client.xrange(TICKS_STREAM) or []}
    assert len(remaining) < 400  # whole stream nodes below the point are gone
    assert set(ids[250:]) <= remaining  # the archiver still needs these
    assert _scalar(conn, "SELECT count(*) FROM ticks") == 400
    # The warehouse forgets entry ids Redis can no longer deliver.
    assert _scalar(conn, "SELECT count(*) FROM stream_entries") == 150


def _sample(name: str) -> float | None:
    return REGISTRY.get_sample_value(f"brokerstack_ingest_{name}", {"stream": TICKS_STREAM})


def test_metrics_report_throughput_and_lag(
    conn: psycopg.Connection[Any], redis_client: redis.Redis
) -> None:
    publish(redis_client, _batches(5))
    writer = _writer(conn, redis_client, "w")
    loaded_before = _sample("rows_total") or 0.0  # the process's counters add up every writer
    drain(writer)
    assert writer.metrics.rows_total == 50
    assert _sample("rows_total") == loaded_before + 50
    assert _sample("group_pending") == 0
    assert _sample("lag_seconds") == 0
    assert _sample("stream_length") == redis_client.xlen(TICKS_STREAM)
    redis_client.xadd(TICKS_STREAM, {b"b": encode_ticks([])}, id="9999999999999-0")
    assert writer.consumer.position().lag_seconds > 1_000_000
