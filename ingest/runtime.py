"""What every writer process shares: where the services are, stopping on a signal, reconnecting.

A writer under ``brokerstack up`` must not die when PostgreSQL or Redis blips (the supervisor
would stop the whole stack), so connection failures end the current round, and after a pause
the writer reconnects and settles its pending entries again — safe, since the warehouse knows
what it loaded.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from types import FrameType

import psycopg
import redis
import tenacity

from brokerstack.ops import Check, Readiness
from brokerstack.retries import retrying
from brokerstack.settings import Settings
from ingest.writer import StreamWriter, WriterOptions
from warehouse.db import connect

log = logging.getLogger(__name__)

_UNAVAILABLE = (psycopg.OperationalError, redis.ConnectionError, redis.TimeoutError)


@dataclass(frozen=True, slots=True)
class Endpoints:
    database_url: str
    redis_url: str


def endpoints(settings: Settings) -> Endpoints:
    """Configured URLs, or where the embedded servers of ``brokerstack up`` listen."""
    return Endpoints(settings.database_dsn, settings.redis_dsn)


def default_consumer_name(kind: str) -> str:
    """Stable across restarts on one host, so a restarted writer finds its pending entries."""
    return f"{kind}@{socket.gethostname()}"


class StopFlag:
    """Set by SIGTERM / SIGINT: the writer finishes its batch and exits."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("signal %d: stopping after the current batch", signum)
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def event(self) -> threading.Event:
        return self._event

    def sleep(self, seconds: float) -> None:
        self._event.wait(seconds)


Round = Callable[[psycopg.Connection[object], redis.Redis, StopFlag], None]


def run_with_reconnects(
    where: Endpoints, stop: StopFlag, one_round: Round, readiness: Readiness | None = None
) -> None:
    """Run ``one_round`` with fresh connections until stopped, pausing after service failures
    (``readiness`` says why while the writer is between rounds)."""

    def connected_round() -> None:
        try:
            with ExitStack() as stack:
                conn = stack.enter_context(connect(where.database_url, autocommit=True))
                client = redis.Redis.from_url(where.redis_url)
                stack.callback(client.close)
                if readiness is not None:
                    readiness.set("services", None)
                one_round(conn, client, stop)
        except _UNAVAILABLE as exc:
            if readiness is not None:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                readiness.set("services", f"unavailable ({reason}); reconnecting")
            raise

    rounds = retrying("a round on PostgreSQL and Redis", _UNAVAILABLE, stop=stop.event, logger=log)
    with contextlib.suppress(tenacity.RetryError):  # stopped while a service was unavailable
        while not stop.is_set:
            rounds(connected_round)


def writers_alive(current: list[StreamWriter], options: WriterOptions) -> Check:
    """``/health`` of a writer process: its writers went round lately (a round waits
    ``block_ms`` at most for entries, then does its housekeeping)."""
    limit = max(30.0, 10 * options.housekeeping_seconds)

    def check() -> str | None:
        if not current:
            return None  # between rounds: readiness says why
        idle = time.monotonic() - min(writer.last_pass for writer in current)
        return f"writer loop stalled for {idle:.0f}s" if idle > limit else None

    return check
