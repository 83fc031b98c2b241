"""The execution service as ``brokerstack up`` runs it: one process for the main book shard,
started after the LPs and before the api that sends it commands."""

from __future__ import annotations

from brokerstack.settings import Settings
from brokerstack.streams import EXECUTION_STATUS_HASH
from brokerstack.supervisor import ProcessSpec, brokerstack_run
from execution.service.shard import Shard


def execution_processes(
    settings: Settings, env: dict[str, str], lp_names: tuple[str, ...] = ()
) -> list[ProcessSpec]:
    """``lp_names``: the LP simulators it is started after (when ``up`` runs them)."""
    shard = Shard()  # one shard on one machine; more shards would be named here
    return [
        ProcessSpec(
            name="execution",
            argv=brokerstack_run("execution"),
            ops_url=f"http://{settings.host}:{settings.execution.ops_port}",
            endpoint=f"Redis stream {shard.commands_stream}; LPs over FIX 4.4",
            # the LPs the warehouse configures: by default the two simulators `up` runs
            env={
                **env,
                "BROKERSTACK_EXECUTION_SHARD": shard.name,
                "BROKERSTACK_EXECUTION_LPS": "fix",
            },
            heartbeat=EXECUTION_STATUS_HASH.format(shard=shard.name),
            after=lp_names,
        )
    ]
