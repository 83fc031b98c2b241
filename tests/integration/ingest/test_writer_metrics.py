"""The tick and event writers as processes: once ready, their metrics count what they loaded and
rejected, and say where their streams stand."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis

from brokerstack.services.ports import free_port
from brokerstack.streams import CRM_EVENTS_STREAM, EVENT_FIELD, EVENTS_STREAM, TICKS_STREAM
from execution import contracts as c
from tests.integration.ingest.support import numbered_ticks, publish, start_writer
from tests.integration.ops import Scrape, ops_url, scrape, scrape_until, wait_ready

COUNTERS = ["rows", "entries", "batches", "rejected", "redelivered_skipped"]
GAUGES = ["rows_per_second", "stream_length", "group_pending", "lag_seconds"]
T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]


def _ingest(metrics: Scrape, name: str, stream: str) -> float | None:
    return metrics.get(f"brokerstack_ingest_{name}", stream=stream)


def test_the_tick_writer_counts_rows_and_rejects_and_reports_its_stream(
    db_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    port = free_port()
    processes.append(start_writer(db_url, redis_url, "metrics", ops_port=port))
    url = ops_url(port)
    wait_ready(url, processes[0])
    idle = scrape(url)
    assert _ingest(idle, "rows_total", TICKS_STREAM) == 0  # there, before the first batch

    ticks = numbered_ticks(datetime.now(UTC) - timedelta(minutes=5), 0, 200)
    publish(redis_client, [ticks[i : i + 10] for i in range(0, 200, 10)])
    redis_client.xadd(TICKS_STREAM, {b"other": b"x"})  # not a tick batch: rejected whole

    def loaded(m: Scrape) -> bool:
        return (
            _ingest(m, "rejected_total", TICKS_STREAM) == 1
            and (_ingest(m, "rows_per_second", TICKS_STREAM) or 0) > 0
        )

    busy = scrape_until(url, loaded)
    settled = scrape_until(
        url,
        lambda m: (
            _ingest(m, "group_pending", TICKS_STREAM) == 0
            and _ingest(m, "lag_seconds", TICKS_STREAM) == 0
        ),
    )

    for metrics in (busy, settled):
        assert _ingest(metrics, "rows_total", TICKS_STREAM) == 200
        assert _ingest(metrics, "entries_total", TICKS_STREAM) == 21
        assert (_ingest(metrics, "batches_total", TICKS_STREAM) or 0) >= 1
        assert _ingest(metrics, "redelivered_skipped_total", TICKS_STREAM) == 0
    for name in COUNTERS + GAUGES:
        assert settled.help.get(f"brokerstack_ingest_{name}"), name
    assert _ingest(settled, "stream_length", TICKS_STREAM) == redis_client.xlen(TICKS_STREAM)


def test_the_event_writer_reports_both_streams(
    seeded_db_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    port = free_port()
    processes.append(
        start_writer(seeded_db_url, redis_url, "metrics", kind="event-writer", ops_port=port)
    )
    url = ops_url(port)
    wait_ready(url, processes[0])
    money = Decimal("955.10"), Decimal("1000")
    for event in (
        c.MarginCall(
            account_id=7, margin_level=Decimal("95.5"), equity=money[0], margin=money[1], time=T0
        ),
        c.StopOut(
            account_id=7,
            position_id=1,
            margin_level=Decimal(49),
            equity=money[0],
            margin=money[1],
            time=T0 + 1,
        ),
        c.Tick(group="std", symbol="EURUSD", bid=Decimal("1.1"), ask=Decimal("1.2"), time=T0),
    ):
        redis_client.xadd(EVENTS_STREAM, {EVENT_FIELD: c.encode(event)})
    redis_client.xadd(EVENTS_STREAM, {EVENT_FIELD: b"\x81\xa1t\xa5bogus"})

    metrics = scrape_until(
        url,
        lambda m: (
            _ingest(m, "entries_total", EVENTS_STREAM) == 4
            and _ingest(m, "stream_length", EVENTS_STREAM) == 4
            and _ingest(m, "group_pending", EVENTS_STREAM) == 0
        ),
    )

    # margin call and stop-out loaded, the tick left to the journal, the bogus entry rejected
    assert _ingest(metrics, "rows_total", EVENTS_STREAM) == 2
    assert _ingest(metrics, "rejected_total", EVENTS_STREAM) == 1
    assert _ingest(metrics, "lag_seconds", EVENTS_STREAM) == 0
    # the CRM stream had nothing: its writer says so rather than being absent
    assert _ingest(metrics, "rows_total", CRM_EVENTS_STREAM) == 0
    assert _ingest(metrics, "stream_length", CRM_EVENTS_STREAM) == 0
