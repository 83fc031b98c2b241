"""The event writer process: ``python -m ingest.events [--consumer NAME]``.

Loads the execution service's ``events`` stream (margin calls, stop-outs) into
``trading_events`` and the back office's ``crm-events`` stream into ``crm_events``, each as a
member of the ``event-writers`` group and exactly once (see ``ingest.writer``). The ``events``
stream is not trimmed here: others replay it by id and its producer caps its length.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any

import psycopg
import redis
import typer

from brokerstack.settings import load_settings
from brokerstack.streams import CRM_EVENTS_STREAM, EVENT_WRITERS_GROUP, EVENTS_STREAM
from ingest.consumer import StreamConsumer
from ingest.event_sinks import CrmEventSink, TradingEventSink
from ingest.runtime import (
    StopFlag,
    configure_logging,
    default_consumer_name,
    endpoints,
    run_with_reconnects,
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


def main(
    consumer: Annotated[
        str | None, typer.Option(help="consumer name in the group (default: event-writer@host)")
    ] = None,
    claim_idle_ms: Annotated[
        int, typer.Option(min=0, help="claim entries other writers left pending this long")
    ] = 30_000,
) -> None:
    """Load trading and CRM events into the warehouse, exactly once."""
    configure_logging()
    name = consumer or default_consumer_name("event-writer")
    options = WriterOptions(claim_idle_ms=claim_idle_ms)
    stop = StopFlag()
    stop.install()

    def one_round(conn: psycopg.Connection[Any], client: redis.Redis, stop: StopFlag) -> None:
        writers = event_writers(conn, client, name, options)
        for writer in writers:
            writer.start()
        log.info("event writer %s reading %s", name, ", ".join(w.stream for w in writers))
        while not stop.is_set:
            if not sum(writer.step(block_ms=0) for writer in writers):
                stop.sleep(IDLE_PAUSE_SECONDS)

    run_with_reconnects(endpoints(load_settings()), stop, one_round)
    log.info("event writer %s stopped", name)


if __name__ == "__main__":
    typer.run(main)
