"""The ingest processes ``brokerstack up`` runs: one tick writer and one event writer.

Both get the stack's service URLs through the environment (the embedded servers' URLs when
none are configured) and fixed consumer names, so a restarted stack settles what its writers
left pending at once instead of waiting for a claim.
"""

from __future__ import annotations

from brokerstack.streams import EVENTS_STREAM, TICKS_STREAM
from brokerstack.supervisor import ProcessSpec, python_module
from ingest.metrics import METRICS_KEY


def ingest_processes(database_url: str, redis_url: str) -> list[ProcessSpec]:
    env = {"BROKERSTACK_DATABASE_URL": database_url, "BROKERSTACK_REDIS_URL": redis_url}
    return [
        ProcessSpec(
            name="tick-writer",
            argv=python_module("ingest.ticks", "--consumer", "tick-writer-1"),
            endpoint="ticks stream -> warehouse (metrics: ingest:metrics:ticks:tick-writer-1)",
            env=env,
            heartbeat=METRICS_KEY.format(stream=TICKS_STREAM, consumer="tick-writer-1"),
        ),
        ProcessSpec(
            name="event-writer",
            argv=python_module("ingest.events", "--consumer", "event-writer-1"),
            endpoint="events, crm-events streams -> warehouse",
            env=env,
            heartbeat=METRICS_KEY.format(stream=EVENTS_STREAM, consumer="event-writer-1"),
        ),
    ]
