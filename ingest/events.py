"""The event writer process: ``brokerstack run event-writer [--consumer NAME]``.

Loads the execution service's ``events`` stream (margin calls, stop-outs) into
``trading_events`` and the back office's ``crm-events`` stream into ``crm_events``, each as a
member of the ``event-writers`` group and exactly once (see ``ingest.writer``). The ``events``
stream is not trimmed here: others replay it by id and its producer caps its length.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import psycopg
import redis

from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings
from brokerstack.streams import CRM_EVENTS_STREAM, EVENT_WRITERS_GROUP, EVENTS_STREAM
from ingest.consumer import StreamConsumer
from ingest.event_sinks import CrmEventSink, TradingEventSink
from ingest.runtime import (
    StopFlag,
    default_consumer_name,
    endpoints,
    run_with_reconnects,
    writers_alive,
)
from ingest.writer import StreamWriter, WriterOptions

log = logging.getLogger("ingest.events")

IDLE_PAUSE_SECONDS = 0.05


def event_writers(
    conn: psycopg.Connection[Any], client: redis.Redis, consumer: str, options: WriterOptions
) -> list[StreamWriter]:
    """Writers for both event streams, sharing one connection (autocommit)."""
    trading = StreamConsumer(client, EVENTS_STREAM, EVENT_WRITERS_GROUP, consumer)
    crm = StreamConsumer(client, CRM_EVENTS_STREAM, EVENT_WRITERS_GROUP, consumer)
    return [
        StreamWriter(conn, trading, TradingEventSink(), replace(options, trim=False)),
        StreamWriter(conn, crm, CrmEventSink(), options),
    ]


def serve(
    settings: Settings, consumer: str | None, options: WriterOptions, ops_port: int | None = None
) -> int:
    """Load trading and CRM events into the warehouse, exactly once, until SIGTERM / SIGINT."""
    name = consumer or default_consumer_name("event-writer")
    stop = StopFlag()
    stop.install()
    current: list[StreamWriter] = []
    readiness = Readiness(alive=writers_alive(current, options))
    readiness.set("services", "connecting")
    ops = OpsServer(settings.host, ops_port or settings.ingest.event_writer_ops_port, readiness)
    ops.start()

    def one_round(conn: psycopg.Connection[Any], client: redis.Redis, stop: StopFlag) -> None:
        writers = event_writers(conn, client, name, options)
        current[:] = writers
        for writer in writers:
            writer.start()
        log.info("event writer %s reading %s", name, ", ".join(w.stream for w in writers))
        while not stop.is_set:
            if not sum(writer.step(block_ms=0) for writer in writers):
                stop.sleep(IDLE_PAUSE_SECONDS)

    run_with_reconnects(endpoints(settings), stop, one_round, readiness)
    ops.stop()
    log.info("event writer %s stopped", name)
    return 0
