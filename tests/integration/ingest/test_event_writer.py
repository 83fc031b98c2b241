"""The event writer: margin calls and stop-outs, CRM events, each once; bad entries rejected."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import psycopg
import pytest
import redis

from brokerstack.streams import (
    CRM_EVENTS_STREAM,
    EVENT_FIELD,
    EVENT_WRITERS_GROUP,
    EVENTS_STREAM,
)
from execution import contracts as c
from ingest.contracts import CrmEvent, encode_crm_event
from ingest.events import event_writers
from ingest.writer import StreamWriter, WriterOptions
from warehouse.db import connect

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


@pytest.fixture
def conn(seeded_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with connect(seeded_db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def client_id(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        """INSERT INTO clients (brand_id, email, first_name, last_name, country, kyc_level)
           SELECT id, 'grace@example.com', 'Grace', 'Hopper', 'US', 1 FROM brands
           WHERE code = 'demo' RETURNING id"""
    ).fetchone()
    assert row is not None
    return int(row[0])


def _drain(writers: list[StreamWriter]) -> None:
    for writer in writers:
        writer.start()
    while sum(writer.step(block_ms=0) for writer in writers):
        pass


def _events(client: redis.Redis, *events: c.Event) -> None:
    for event in events:
        client.xadd(EVENTS_STREAM, {EVENT_FIELD: c.encode(event)})


def test_margin_calls_and_stop_outs_land_once_other_events_are_left_to_the_journal(
    conn: psycopg.Connection[Any], redis_client: redis.Redis
) -> None:
    call = c.MarginCall(
        account_id=7,
        margin_level=Decimal("95.5"),
        equity=Decimal("955.10"),
        margin=Decimal("1000"),
        time=T0,
    )
    stop = c.StopOut(
        account_id=7,
        position_id=42,
        margin_level=Decimal("49.9"),
        equity=Decimal("499"),
        margin=Decimal("1000"),
        time=T0 + 1_000_000_000,
    )
    tick = c.Tick(group="std", symbol="EURUSD", bid=Decimal("1.1"), ask=Decimal("1.2"), time=T0)
    _events(redis_client, call, tick, stop)
    redis_client.xadd(EVENTS_STREAM, {EVENT_FIELD: b"\x81\xa1t\xa5bogus"})

    _drain(event_writers(conn, redis_client, "w", WriterOptions()))
    _drain(event_writers(conn, redis_client, "w", WriterOptions()))  # a restart changes nothing

    rows = conn.execute(
        """SELECT account_id, event_type, position_id, margin_level, equity, margin,
                  payload->>'equity'
           FROM trading_events ORDER BY occurred_at"""
    ).fetchall()
    assert rows == [
        (7, "margin_call", None, Decimal("95.5"), Decimal("955.1"), Decimal("1000"), "955.10"),
        (7, "stop_out", 42, Decimal("49.9"), Decimal("499"), Decimal("1000"), "499"),
    ]
    rejects = conn.execute("SELECT stream, reason FROM ingest_rejects").fetchall()
    assert len(rejects) == 1
    assert rejects[0][0] == "events"
    assert redis_client.xlen(EVENTS_STREAM) == 4  # replayable: not trimmed by the writer
    assert redis_client.xpending(EVENTS_STREAM, EVENT_WRITERS_GROUP)["pending"] == 0


def test_crm_events_land_once_and_an_unknown_client_is_rejected_alone(
    conn: psycopg.Connection[Any], redis_client: redis.Redis, client_id: int
) -> None:
    good = [
        CrmEvent(
            time_ns=T0 + i,
            client_id=client_id,
            event_type="call_logged",
            channel="phone",
            payload={"minutes": i},
        )
        for i in range(3)
    ]
    unknown = CrmEvent(time_ns=T0, client_id=999_999, event_type="call_logged")
    not_json = CrmEvent(
        time_ns=T0,
        client_id=client_id,
        event_type="x",
        payload={"blob": msgspec.msgpack.Ext(1, b"")},
    )
    for event in (good[0], unknown, good[1], not_json, good[2]):
        redis_client.xadd(CRM_EVENTS_STREAM, {EVENT_FIELD: encode_crm_event(event)})

    writers = event_writers(conn, redis_client, "w", WriterOptions())
    _drain(writers)

    rows = conn.execute(
        "SELECT client_id, event_type, channel, payload FROM crm_events "
        "ORDER BY payload->>'minutes'"
    ).fetchall()
    assert rows == [(client_id, "call_logged", "phone", {"minutes": i}) for i in range(3)]
    reasons = conn.execute(
        "SELECT reason FROM ingest_rejects WHERE stream = 'crm-events' ORDER BY id"
    ).fetchall()
    assert len(reasons) == 2  # in entry order, by the entry-by-entry retry
    assert reasons[0][0].startswith("ForeignKeyViolation")
    assert reasons[1][0].startswith("undecodable CRM event")
    assert writers[1].metrics.rows_total == 3
    assert writers[1].metrics.rejected_total == 2
