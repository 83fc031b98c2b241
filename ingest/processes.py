"""The ingest processes ``brokerstack up`` runs: one tick writer and one event writer.

Both get the stack's service URLs through the environment (the embedded servers' URLs when
none are configured) and fixed consumer names, so a restarted stack settles what its writers
left pending at once instead of waiting for a claim.
"""

from __future__ import annotations

from brokerstack.settings import Settings
from brokerstack.supervisor import ProcessSpec, brokerstack_run


def ingest_processes(settings: Settings, env: dict[str, str]) -> list[ProcessSpec]:
    host, ports = settings.host, settings.ingest
    return [
        ProcessSpec(
            name="tick-writer",
            argv=brokerstack_run("tick-writer", "--consumer", "tick-writer-1"),
            endpoint="ticks stream -> warehouse",
            env=env,
            ops_url=f"http://{host}:{ports.tick_writer_ops_port}",
        ),
        ProcessSpec(
            name="event-writer",
            argv=brokerstack_run("event-writer", "--consumer", "event-writer-1"),
            endpoint="events, crm-events streams -> warehouse",
            env=env,
            ops_url=f"http://{host}:{ports.event_writer_ops_port}",
        ),
    ]
