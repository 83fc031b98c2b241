"""Settle one batch's transaction while the next batch loads on another connection.

Besides its COPY, a batch pays for recording its entry ids (``stream_entries``,
``stream_offsets``), for the commit — PostgreSQL flushing the batch's WAL to disk;
``synchronous_commit`` stays on, an acknowledged entry must be durable — and for the ``XACK``.
With two connections the writer COPYs a batch in its open transaction, hands the rest to this
background thread and COPYs the next batch on the other connection meanwhile.

One batch is settled at a time, in the order handed over, so batches commit in stream order
and the ``XACK`` of a batch follows its commit on the same thread, never precedes it. A crash
at any point leaves at most the settling and the loading batch unacknowledged, and both are
settled like any pending entry (``ingest.writer``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType


class Committer:
    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit")
        self._in_flight: Future[None] | None = None

    def __enter__(self) -> Committer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.wait()
            elif self._in_flight is not None:
                # Already failing: let the batch settle, but report the first error.
                self._in_flight.exception()
        finally:
            self._thread.shutdown(wait=True)

    def submit(self, settle: Callable[[], None]) -> None:
        """Run ``settle`` once the batch in flight is settled; raises what that one raised."""
        self.wait()
        self._in_flight = self._thread.submit(settle)

    def wait(self) -> None:
        """Return once no batch is in flight; raises what the last one raised."""
        future, self._in_flight = self._in_flight, None
        if future is not None:
            future.result()
