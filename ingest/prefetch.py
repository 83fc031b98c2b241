"""Read the next batch while the current one is being COPYed and committed.

A writer spends much of a batch waiting on PostgreSQL: the tail of the COPY and the commit.
One background thread uses that wait to run XREADGROUP (and the sink's ``prepare``) for the
next batch. The hand-over queue holds one batch, so memory stays bounded to two batches and a
slow warehouse still leaves the backlog in Redis. A prefetched batch that is never loaded (the
process stops or dies) stays pending in Redis and is settled on restart like any other.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from ingest.consumer import Entry, StreamConsumer

Prepare = Callable[[Sequence[Entry]], object]
# New entries, when they were read (time.monotonic()) and what ``prepare`` made of them.
Batch = tuple[list[Entry], float, object]


class Prefetcher:
    def __init__(
        self, consumer: StreamConsumer, count: int, block_ms: int, prepare: Prepare
    ) -> None:
        self._consumer = consumer
        self._count = count
        self._block_ms = block_ms
        self._prepare = prepare
        self._handover: queue.Queue[Batch | BaseException] = queue.Queue(maxsize=1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)

    def __enter__(self) -> Prefetcher:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        with contextlib.suppress(queue.Empty):  # unblock a thread waiting to hand over
            self._handover.get_nowait()
        self._thread.join(timeout=self._block_ms / 1000 + 5)

    def next_batch(self, timeout: float) -> Batch:
        """The next batch of new entries, its read time and what ``prepare`` made of it
        (no entries when none arrived in time)."""
        try:
            item = self._handover.get(timeout=timeout)
        except queue.Empty:
            return [], time.monotonic(), None
        if isinstance(item, BaseException):
            raise item
        return item

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                read_at = time.monotonic()
                entries = self._consumer.read_new(self._count, self._block_ms)
                prepared = self._prepare(entries) if entries else None
            except Exception as exc:  # handed to the loading thread, which decides
                self._put(exc)
                return
            if entries:
                self._put((entries, read_at, prepared))

    def _put(self, item: Batch | BaseException) -> None:
        while not self._stopping.is_set():
            try:
                self._handover.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
