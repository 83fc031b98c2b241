"""Send commands to an execution service shard and wait for the replies, over Redis.

Depends only on the message contracts, redis and the stream names, so a caller outside
`execution` (the api) can use it without touching the service's internals. A requester appends
``{c: command, r: requester}`` to ``commands:{shard}`` and reads its own ``replies:{requester}``;
replies are matched by request id (a replayed request is answered again with the first answer).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec
import redis

from brokerstack.streams import (
    COMMAND_FIELD,
    COMMANDS_STREAM,
    REPLIES_STREAM,
    REPLY_FIELD,
    REQUESTER_FIELD,
)
from execution import contracts as c


class ReplyTimeout(TimeoutError):
    pass


class CommandClient:
    def __init__(self, client: redis.Redis, shard: str = "main", requester: str = "") -> None:
        self.client = client
        self.stream = COMMANDS_STREAM.format(shard=shard)
        self.requester = requester or f"client-{uuid.uuid4().hex[:12]}"
        self.replies_stream = REPLIES_STREAM.format(requester=self.requester)
        self.received: dict[str, c.Reply] = {}  # request id -> first reply seen
        self.unmatched: list[c.Reply] = []  # replies without a request id (malformed input)
        self._after = "0"

    def send(self, command: c.Command) -> bytes:
        return self.send_raw(c.encode(command))

    def send_raw(self, data: bytes) -> bytes:
        """Append an encoded command as it is (tests use it for malformed input)."""
        entry: Any = self.client.xadd(
            self.stream, {COMMAND_FIELD: data, REQUESTER_FIELD: self.requester}
        )
        return bytes(entry)

    def request(self, command: c.Command, timeout: float = 10.0) -> c.Reply:
        self.send(command)
        return self.wait([command.request_id], timeout)[command.request_id]

    def wait(self, request_ids: list[str], timeout: float = 10.0) -> dict[str, c.Reply]:
        """The replies to these requests; raises `ReplyTimeout` if one does not come in time."""
        deadline = time.monotonic() + timeout
        missing = set(request_ids) - self.received.keys()
        while missing:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ReplyTimeout(f"no reply to {len(missing)} request(s), e.g. {min(missing)}")
            for reply in self.poll(min(left, 1.0)):
                missing.discard(reply.request_id)
        return {rid: self.received[rid] for rid in request_ids}

    def poll(self, block: float = 0.0) -> list[c.Reply]:
        """Replies that arrived since the last poll (waiting up to `block` seconds for one)."""
        response: Any = self.client.xread(
            {self.replies_stream: self._after}, count=10_000, block=int(block * 1000) or None
        )
        replies: list[c.Reply] = []
        for _, entries in response or ():
            for entry_id, fields in entries:
                self._after = entry_id.decode()
                try:
                    reply = c.decode_reply(fields[REPLY_FIELD])
                except (KeyError, msgspec.DecodeError, msgspec.ValidationError):
                    continue
                replies.append(reply)
                if not reply.request_id:
                    self.unmatched.append(reply)
                else:
                    self.received.setdefault(reply.request_id, reply)
        return replies
