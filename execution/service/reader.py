"""The command stream reader: a thread that moves entries of ``commands:{shard}`` into the inbox.

It reads with the ``execution`` consumer group under a fixed consumer name per shard, so the
entries it was handed but the loop never acknowledged (the process died before the batch
committed) are this consumer's pending entries, re-read first on the next start.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import redis
import tenacity

from brokerstack.retries import retrying
from brokerstack.streams import COMMAND_FIELD, EXECUTION_GROUP, REQUESTER_FIELD
from execution.inbox import Commands, Inbox

log = logging.getLogger(__name__)

Entry = tuple[bytes, dict[bytes, bytes] | None]


def to_commands(entries: list[Entry]) -> Commands:
    """Stream entries as one inbox item; an entry without fields (trimmed) stays, empty, so it
    is answered as malformed and acknowledged rather than re-read forever."""
    fields = [(entry_id, values or {}) for entry_id, values in entries]
    return Commands(
        [(entry_id, values.get(COMMAND_FIELD, b"")) for entry_id, values in fields],
        [values.get(REQUESTER_FIELD, b"") for _, values in fields],
    )


class CommandReader:
    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        consumer: str,
        inbox: Inbox,
        count: int = 1000,
        block_ms: int = 50,
    ) -> None:
        self.client = client
        self.stream = stream
        self.consumer = consumer
        self.inbox = inbox
        self.count = count
        self.block_ms = block_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="command-reader", daemon=True)

    def ensure_group(self) -> None:
        """Create the consumer group at the start of the stream (commands sent before the
        service first ran are still answered)."""
        try:
            self.client.xgroup_create(self.stream, EXECUTION_GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def pending(self) -> list[Commands]:
        """This consumer's entries delivered before but never acknowledged, oldest first."""
        batches: list[Commands] = []
        after = "0"
        while True:
            entries = self._read(after)
            if not entries:
                return batches
            batches.append(to_commands(entries))
            after = entries[-1][0].decode()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _read(self, after: str) -> list[Entry]:
        response: Any = self.client.xreadgroup(
            EXECUTION_GROUP,
            self.consumer,
            {self.stream: after},
            count=self.count,
            block=None if after != ">" else self.block_ms,
        )
        if not response:
            return []
        _, entries = response[0]
        return list(entries)

    def _run(self) -> None:
        reads = retrying(f"reading {self.stream}", redis.RedisError, stop=self._stop, logger=log)
        with contextlib.suppress(tenacity.RetryError):  # stopped while Redis was away
            while not self._stop.is_set():
                entries = reads(self._read, ">")
                if entries:
                    self.inbox.put(to_commands(entries))
