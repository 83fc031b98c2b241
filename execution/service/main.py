"""The execution service's composition root: ``brokerstack run execution``.

Wires the warehouse connection, the command reader, the loop, the publisher and the LP
gateways; with no FIX LP configured, in-process LPs quoting a random walk give the demo prices.
Its operations port answers ready once prices are in and the unacknowledged commands are
re-read, and serves the metrics of ``execution.service.metrics``. SIGTERM / SIGINT let the
loop finish and commit its batch, then the process exits.
"""

from __future__ import annotations

import gc
import logging
import signal
from types import FrameType
from typing import Any

import psycopg
import redis
from prometheus_client import REGISTRY

from brokerstack.errors import ConfigError
from brokerstack.ops import OpsServer, Readiness, stalled
from brokerstack.services import check_database, check_redis, unreachable
from brokerstack.settings import Settings
from brokerstack.streams import EXECUTION_GROUP
from execution.inbox import Inbox
from execution.lp import InProcessLp, LpGateway
from execution.service.committer import JournalUnavailable
from execution.service.demo_lps import InProcessGateway, RandomWalkQuotes
from execution.service.fix_gateways import FixGateways
from execution.service.loop import ExecutionService, LoopOptions
from execution.service.metrics import CommandsStream, QuoteAges
from execution.service.publisher import Publisher
from execution.service.reader import CommandReader
from execution.service.shard import Shard
from execution.service.status import Heartbeat, lp_sessions

log = logging.getLogger("execution.service")


# /health fails when the loop has not made a pass for this long (an idle pass takes
# ``idle_wait``, a fraction of a second).
STALL_SECONDS = 30.0


def serve(settings: Settings, ops_port: int | None = None) -> int:
    """Run one shard until SIGTERM / SIGINT: 0 when stopped, 1 when it cannot go on."""
    database_url, redis_url = settings.database_dsn, settings.redis_dsn
    options = settings.execution
    # a batch allocates many short-lived objects: collect the young generation less often
    gc.set_threshold(50_000, 20, 20)
    shard = Shard(options.shard)
    inbox = Inbox()
    reader = CommandReader(
        redis.Redis.from_url(redis_url), shard.commands_stream, shard.consumer, inbox,
        count=options.read_count,
    )  # fmt: skip
    reader.ensure_group()

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(database_url, autocommit=True)

    gateways: dict[str, LpGateway] = {}
    service = ExecutionService(
        connect,
        Publisher(redis.Redis.from_url(redis_url), shard.commands_stream),
        inbox,
        gateways,
        shard,
        LoopOptions(max_items=options.max_items, remembered=options.remembered),
    )
    fix: FixGateways | None = None
    quotes: RandomWalkQuotes | None = None
    if options.lps == "fix":
        try:
            fix = FixGateways(service.conn, database_url, inbox, settings.data_path / "fix")
        except ConfigError as error:
            log.error("%s", error)
            return 1
        gateways.update(fix.gateways())
    else:
        lps = {code: InProcessLp(code) for code in service.reference.lp_ids}
        gateways.update(dict.fromkeys(lps, InProcessGateway(lps, inbox)))
        quotes = RandomWalkQuotes(
            lps, service.reference.config.instruments, inbox, options.demo_quote_interval,
            options.demo_seed,
        )  # fmt: skip

    readiness = Readiness(
        checks={
            "postgres": lambda: unreachable(check_database, database_url),
            "redis": lambda: unreachable(check_redis, redis_url),
        },
        alive=stalled(lambda: service.last_pass, STALL_SECONDS),
    )
    readiness.set("start-up", "waiting for prices and re-reading unacknowledged commands")
    REGISTRY.register(QuoteAges(gateways, service.quoted))
    scrapes = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    REGISTRY.register(CommandsStream(scrapes, shard.commands_stream, EXECUTION_GROUP))
    ops = OpsServer(settings.host, ops_port or options.ops_port, readiness).start()

    def stop(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("signal %d: finishing the current batch", signum)
        service.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if fix is not None:
        fix.start(service.core, service.conn)
    if quotes is not None:
        quotes.start()
    heartbeat = Heartbeat(
        redis.Redis.from_url(redis_url), shard,
        lp_sessions(service.conn, fix is not None, service.reference.lp_ids),
    )  # fmt: skip
    heartbeat.start()
    service.warm_up(options.warm_up_seconds)
    service.recover(reader.pending())
    reader.start()
    readiness.set("start-up", None)
    log.info("execution service shard %s ready on %s", shard.name, shard.commands_stream)
    try:
        service.run()
    except JournalUnavailable as error:
        log.error("%s: exiting with nothing of the batch acknowledged", error)
        return 1
    finally:
        heartbeat.stop()
        if quotes is not None:
            quotes.stop()
        if fix is not None:
            fix.stop()
        reader.stop()
        service.conn.close()
        ops.stop()
    log.info("stopped")
    return 0
