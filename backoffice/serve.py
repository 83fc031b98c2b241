"""The back-office worker process (``brokerstack run backoffice-worker``): the jobs of
:mod:`backoffice.jobs`, with ``/health``, ``/ready`` and ``/metrics`` on its ops port."""

from __future__ import annotations

import logging

from backoffice.commands import RedisCommands
from backoffice.jobs import JOBS
from backoffice.worker import JobContext, Worker
from brokerstack.ops import OpsServer, Readiness, stalled
from brokerstack.services import check_database, unreachable
from brokerstack.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings, ops_port: int | None = None) -> int:
    database_url = settings.database_dsn
    commands = RedisCommands(settings.redis_dsn, settings.api.command_shard)
    worker = Worker(JOBS, JobContext(settings, database_url, commands))
    readiness = Readiness(
        checks={"postgres": lambda: unreachable(check_database, database_url)},
        alive=stalled(lambda: worker.last_turn, 120.0),
    )
    port = ops_port or settings.backoffice.worker_ops_port
    ops = OpsServer(settings.host, port, readiness).start()
    log.info("back-office worker: %d jobs (%s)", len(JOBS), ", ".join(j.name for j in JOBS))
    try:
        worker.serve()
    finally:
        ops.stop()
        commands.close()
    return 0
