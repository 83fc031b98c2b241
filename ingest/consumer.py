"""One member of a Redis consumer group: new entries, its own pending ones, stale ones of others.

Redis delivers each new entry of a stream to exactly one consumer of the group and keeps it
pending until acknowledged. What Redis cannot know is whether a crashed consumer loaded an
entry before dying; the warehouse answers that (``ingest.entries``), so entries that come back
(own pending after a restart, or claimed from a dead consumer) are filtered against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from ingest.entries import join_id, split_id

Fields = dict[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Entry:
    id: bytes
    fields: Fields


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where a stream stands, for lag metrics."""

    length: int
    last_generated_id: bytes
    last_delivered_id: bytes
    pending: int
    oldest_pending_id: bytes | None

    @property
    def lag_seconds(self) -> float:
        """Stream time between the newest entry and the oldest one the group has not loaded."""
        newest = split_id(self.last_generated_id)
        delivered = split_id(self.last_delivered_id)
        if self.pending == 0 and delivered >= newest:
            return 0.0
        oldest = delivered
        if self.oldest_pending_id is not None:
            oldest = min(oldest, split_id(self.oldest_pending_id))
        return max(newest[0] - oldest[0], 0) / 1000


class StreamConsumer:
    def __init__(self, client: redis.Redis, stream: str, group: str, consumer: str) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer

    def ensure_group(self) -> None:
        """Create the group at the start of the stream (history included) unless it exists."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_new(self, count: int, block_ms: int | None) -> list[Entry]:
        """Up to ``count`` entries never delivered to anyone in the group."""
        reply = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return _entries(reply)

    def read_own_pending(self, count: int, after: bytes = b"0") -> list[Entry]:
        """Entries delivered to this consumer name and never acknowledged (e.g. before a crash).

        An entry deleted from the stream meanwhile comes back with ``fields`` empty.
        """
        reply = self.client.xreadgroup(self.group, self.consumer, {self.stream: after}, count=count)
        return _entries(reply)

    def claim_stale(self, min_idle_ms: int, count: int) -> list[Entry]:
        """Take over entries another consumer left pending for longer than ``min_idle_ms``."""
        claimed: list[Entry] = []
        start: bytes | str = "0-0"
        while len(claimed) < count:
            reply: Any = self.client.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=min_idle_ms,
                start_id=start,
                count=count - len(claimed),
            )
            claimed.extend(_pairs(reply[1]))
            start = reply[0]
            if start in (b"0-0", "0-0"):
                break
        return claimed

    def ack(self, entry_ids: Sequence[bytes]) -> None:
        if entry_ids:
            self.client.xack(self.stream, self.group, *entry_ids)

    def safe_trim_point(self) -> bytes | None:
        """The lowest id some group may still need: older entries are acknowledged by all.

        Entries below a group's oldest pending entry and its last delivered id were
        acknowledged and will never be delivered again; every group on the stream counts, so a
        trim never takes an entry from a reader that has not seen it.
        """
        groups = self.client.xinfo_groups(self.stream)
        if not groups:
            return None
        points: list[tuple[int, int]] = []
        for group in groups:
            points.append(split_id(_as_bytes(group["last-delivered-id"])))
            if int(group["pending"]) > 0:
                summary = self.client.xpending(self.stream, _as_str(group["name"]))
                if summary.get("min") is not None:
                    points.append(split_id(_as_bytes(summary["min"])))
        return join_id(*min(points))

    def trim_below(self, entry_id: bytes) -> int:
        # Approximate trimming drops whole radix-tree nodes only, never an entry >= entry_id.
        return int(self.client.xtrim(self.stream, minid=entry_id, approximate=True))

    def position(self) -> StreamPosition:
        pipe = self.client.pipeline(transaction=False)
        pipe.xinfo_stream(self.stream)
        pipe.xinfo_groups(self.stream)
        pipe.xpending(self.stream, self.group)
        info, groups, pending = pipe.execute()
        ours = next(g for g in groups if _as_str(g["name"]) == self.group)
        return StreamPosition(
            length=int(info["length"]),
            last_generated_id=_as_bytes(info["last-generated-id"]),
            last_delivered_id=_as_bytes(ours["last-delivered-id"]),
            pending=int(pending["pending"]),
            oldest_pending_id=None if pending.get("min") is None else _as_bytes(pending["min"]),
        )


def _entries(reply: Any) -> list[Entry]:
    if not reply:
        return []
    # RESP2 answers [[stream, entries]]; RESP3 a {stream: [entries]} mapping.
    if isinstance(reply, dict):
        return [entry for value in reply.values() for entry in _pairs(value[0])]
    return [entry for _, pairs in reply for entry in _pairs(pairs)]


def _pairs(pairs: Any) -> list[Entry]:
    return [Entry(_as_bytes(entry_id), fields or {}) for entry_id, fields in pairs]


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _as_str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
