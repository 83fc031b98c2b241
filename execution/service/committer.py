"""After the loop: journal each batch in one transaction, then hand its LP orders to the
gateways and publish it (replies, events, prices, acknowledgements).

Two stages on their own threads, each with a bounded queue, so the core applies batch N+2
while batch N+1 commits and batch N is published. Batches pass both stages strictly in the
order the loop made them; a stage that falls behind merges the batches waiting for it (the
journal stage into one transaction: group commit). A warehouse that stops answering stops the
loop after a few batches instead of letting memory grow, and nothing is acknowledged.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
import redis
import tenacity

from brokerstack.retries import retrying
from execution.inbox import Inbox, LpExecution
from execution.lp import LpGateway, LpOrder, LpReport, ReportStatus
from execution.service.batch import Batch
from execution.service.command_log import log_handled
from execution.service.journal import Journal
from execution.service.metrics import Published
from execution.service.publisher import Publisher

log = logging.getLogger(__name__)

Connect = Callable[[], psycopg.Connection[Any]]


class JournalUnavailable(RuntimeError):
    """The warehouse (or Redis) could not take a batch and the service was asked to stop, or
    committing failed on a bug: nothing of the batch was acknowledged, so a restart re-reads it."""


class _Stage:
    """A thread applying `handle` to batches in order, then passing them on."""

    def __init__(
        self, name: str, handle: Callable[[Batch], None], after: _Stage | None, depth: int
    ) -> None:
        self.handle = handle
        self.after = after
        self.error: JournalUnavailable | None = None
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def failure(self) -> JournalUnavailable | None:
        return self.error or (self.after.failure() if self.after else None)

    def start(self) -> None:
        self._thread.start()
        if self.after:
            self.after.start()

    def submit(self, batch: Batch) -> None:
        while (error := self.failure()) is None:
            try:
                self._queue.put(batch, timeout=0.1)
                return
            except queue.Full:
                continue
        raise error

    def drain(self) -> None:
        self._queue.join()
        if self.after:
            self.after.drain()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self.after:
            self.after.close()

    def _run(self) -> None:
        while True:
            taken = [self._queue.get()]
            while taken[-1] is not None:
                try:
                    taken.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batches = [b for b in taken if b is not None]
            try:
                if batches and self.failure() is None:
                    batch = Batch.merged(batches)
                    self.handle(batch)
                    if self.after:
                        self.after.submit(batch)
            except JournalUnavailable as error:
                self.error = error  # later batches are dropped unacknowledged: re-read on start
            except Exception as error:
                # a bug, not an outage: stop with nothing of the batch acknowledged, so the
                # restarted service rebuilds from the warehouse and re-reads the commands
                log.exception("%s failed", self._thread.name)
                self.error = JournalUnavailable(f"{self._thread.name} failed: {error!r}")
            finally:
                for _ in taken:
                    self._queue.task_done()
            if taken[-1] is None:
                return


class Committer:
    def __init__(
        self,
        connect: Connect,
        journal: Journal,
        publisher: Publisher,
        gateways: Mapping[str, LpGateway],
        inbox: Inbox,
        stopping: threading.Event,
        depth: int = 4,
        retry_max: float = 2.0,
    ) -> None:
        self._connect = connect
        self.conn = connect()
        self.journal = journal
        self.publisher = publisher
        self.gateways = gateways
        self.inbox = inbox
        self.stopping = stopping
        self.retry_max = retry_max
        self.published = Published()
        publishing = _Stage("publisher", self._publish, None, depth)
        self._stages = _Stage("journal", self._journal, publishing, depth)

    @property
    def error(self) -> JournalUnavailable | None:
        return self._stages.failure()

    def start(self) -> None:
        self._stages.start()

    def submit(self, batch: Batch) -> None:
        """Queue a batch (waits while the queue is full, unless a stage has failed)."""
        self._stages.submit(batch)

    def drain(self) -> None:
        """Wait until every queued batch is committed and published."""
        self._stages.drain()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Finish the queued batches, then end the threads."""
        self._stages.close()
        self.conn.close()
        if self.error is not None:
            raise self.error

    def _journal(self, batch: Batch) -> None:
        if batch.durable:
            self._retry(
                "journaling a batch",
                psycopg.Error,
                lambda: self.journal.write(self._connection(), batch),
            )

    def _publish(self, batch: Batch) -> None:
        self.published.sending(batch.lp_orders)
        for order in batch.lp_orders:
            self._send(order, batch.now)
        self._retry("publishing a batch", redis.RedisError, lambda: self.publisher.send(batch))
        self.published.answered(batch)
        log_handled(batch.handled)

    def _send(self, order: LpOrder, now: int) -> None:
        gateway = self.gateways.get(order.lp)
        try:
            if gateway is None:
                raise LookupError(f"no gateway for LP {order.lp}")
            gateway.send(order)
        except Exception as error:
            log.exception("sending %s to %s failed", order.cl_ord_id, order.lp)
            report = LpReport(order.cl_ord_id, ReportStatus.REJECTED, text=str(error))
            self.inbox.put(LpExecution(order.lp, report, now))

    def _retry(self, what: str, errors: type[Exception], action: Callable[[], None]) -> None:
        """Retry until it works: a batch that cannot be journaled or published is never
        dropped. When asked to stop meanwhile, give up without acknowledging anything."""
        policy = retrying(
            what, errors, most=self.retry_max, stop=self.stopping, level=logging.ERROR, logger=log
        )
        try:
            policy(action)
        except tenacity.RetryError as stopped:
            raise JournalUnavailable(f"stopped while {what}") from stopped.last_attempt.exception()

    def _connection(self) -> psycopg.Connection[Any]:
        """The warehouse connection, opened again when a failed try left it broken."""
        if self.conn.closed or self.conn.broken:
            self.conn = self._connect()
        return self.conn
