"""The tick writer process: ``brokerstack run tick-writer [--consumer NAME]``.

Reads the ``ticks`` stream as a member of the ``tick-writers`` group, loads every tick once
(see ``ingest.writer``), keeps candles current and reports metrics. Run several side by side
with different ``--consumer`` names to share the stream; give a restarted writer its old name
so it settles its own pending entries at once (others claim them after ``--claim-idle-ms``).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import redis

from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings
from brokerstack.streams import TICK_WRITERS_GROUP, TICKS_STREAM
from ingest.candle_refresh import refresh_queued_candles
from ingest.consumer import StreamConsumer
from ingest.runtime import (
    StopFlag,
    default_consumer_name,
    endpoints,
    run_with_reconnects,
    writers_alive,
)
from ingest.tick_sink import TickSink
from ingest.writer import StreamWriter, WriterOptions
from warehouse.db import connect

log = logging.getLogger("ingest.ticks")


def tick_writer(
    conn: psycopg.Connection[Any],
    client: redis.Redis,
    consumer: str,
    options: WriterOptions,
    *,
    candles: bool = True,
    spare: psycopg.Connection[Any] | None = None,
) -> StreamWriter:
    """A tick writer on ``conn`` (autocommit) and ``client``; candles refreshed at housekeeping.

    With ``spare`` (a second autocommit connection) a batch loads while the previous commits.
    """
    stream_consumer = StreamConsumer(client, TICKS_STREAM, TICK_WRITERS_GROUP, consumer)
    refresh = _refresh if candles else None
    return StreamWriter(
        conn,
        stream_consumer,
        TickSink(queue_candles=candles),
        options,
        after_housekeeping=refresh,
        spare=spare,
    )


def _refresh(conn: psycopg.Connection[Any]) -> None:
    refreshed = refresh_queued_candles(conn)
    if refreshed:
        log.debug("refreshed candles over %d windows", refreshed)


def drain(writer: StreamWriter) -> int:
    """Load until the group has nothing left, claiming every pending entry; rows loaded."""
    writer.start()
    before = writer.metrics.rows_total
    while writer.step(block_ms=0):
        pass
    while stale := writer.consumer.claim_stale(0, writer.options.batch_entries):
        writer.load(stale, redelivered=True)
    writer.housekeeping()
    return writer.metrics.rows_total - before


def serve(
    settings: Settings,
    consumer: str | None,
    options: WriterOptions,
    *,
    candles: bool = True,
    ops_port: int | None = None,
) -> int:
    """Load the ticks stream into the warehouse, exactly once, until SIGTERM / SIGINT."""
    name = consumer or default_consumer_name("tick-writer")
    stop = StopFlag()
    stop.install()
    where = endpoints(settings)
    current: list[StreamWriter] = []
    readiness = Readiness(alive=writers_alive(current, options))
    readiness.set("services", "connecting")
    ops = OpsServer(settings.host, ops_port or settings.ingest.tick_writer_ops_port, readiness)
    ops.start()

    def one_round(conn: psycopg.Connection[Any], client: redis.Redis, stop: StopFlag) -> None:
        with connect(where.database_url, autocommit=True) as spare:
            writer = tick_writer(conn, client, name, options, candles=candles, spare=spare)
            current[:] = [writer]
            log.info("tick writer %s reading %s", name, TICKS_STREAM)
            writer.run(lambda: stop.is_set)

    run_with_reconnects(where, stop, one_round, readiness)
    ops.stop()
    log.info("tick writer %s stopped", name)
    return 0
