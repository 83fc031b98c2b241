"""The back-office worker: one process that runs every area's background jobs on their own
clocks — the webhook inbox, the outbox, retention automations, screening, purges.

Each job is a function of a :class:`JobContext` that does one bounded round of work in its own
transactions and returns how many items it handled; a round that fails is logged and retried at
the job's next turn (every job is idempotent: the work it claims is marked in the warehouse in
the transaction that does it, so a worker killed mid-round redoes nothing that committed).
Areas declare their jobs in :mod:`backoffice.jobs`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from prometheus_client import Counter, Gauge

from backoffice.commands import ExecutionCommands
from brokerstack.settings import Settings

log = logging.getLogger(__name__)

ROUNDS = Counter("backoffice_job_rounds_total", "Job rounds run", ["job", "outcome"])
ITEMS = Counter("backoffice_job_items_total", "Items the jobs handled", ["job"])
LAST_ROUND = Gauge("backoffice_job_last_round_seconds", "Unix time of a job's last round", ["job"])


@dataclass
class JobContext:
    """What a job may use: the settings, warehouse connections, the execution service."""

    settings: Settings
    database_url: str
    commands: ExecutionCommands

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one round (committed when the block ends without an error)."""
        with psycopg.connect(self.database_url) as conn:
            yield conn


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[JobContext], int]


@dataclass
class Worker:
    jobs: Sequence[Job]
    context: JobContext
    _due: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    last_turn: float = field(default_factory=time.monotonic)

    def run_due(self, now: float | None = None) -> dict[str, int]:
        """Run every job whose turn has come; items handled per job run."""
        now = time.monotonic() if now is None else now
        done: dict[str, int] = {}
        for job in self.jobs:
            if self._due.get(job.name, 0.0) > now:
                continue
            self._due[job.name] = now + job.every_seconds
            try:
                items = job.run(self.context)
            except Exception:
                ROUNDS.labels(job.name, "failed").inc()
                log.exception("job %s failed; it runs again in %.0f s", job.name,
                              job.every_seconds)  # fmt: skip
                continue
            ROUNDS.labels(job.name, "ok").inc()
            ITEMS.labels(job.name).inc(items)
            LAST_ROUND.labels(job.name).set_to_current_time()
            if items:
                log.info("job %s handled %d", job.name, items)
            done[job.name] = items
        self.last_turn = time.monotonic()
        return done

    def serve(self) -> None:
        """Run jobs until SIGTERM or SIGINT (a round in progress finishes first)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self._pause())

    def stop(self) -> None:
        self._stop.set()

    def _pause(self) -> float:
        soonest = min(self._due.values(), default=0.0) - time.monotonic()
        return min(max(soonest, 0.05), 1.0)
