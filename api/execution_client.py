"""Commands to the execution service and their replies, over Redis streams.

Each api process is one requester: it appends commands to ``commands:{shard}`` naming itself,
and one background task reads ``replies:{requester}`` and completes the waiting request by its
request id. Only :mod:`execution.contracts` is used from the execution package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass

import msgspec
from redis.asyncio import Redis

from api.errors import ApiError, rejected
from brokerstack.logs import current_request_id
from brokerstack.retries import async_retrying
from brokerstack.streams import COMMAND_FIELD, REPLIES_STREAM, REPLY_FIELD, REQUESTER_FIELD
from execution import contracts

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Waiting:
    identity: bytes  # contracts.identity of the command
    future: asyncio.Future[contracts.Reply]
    senders: int = 0


class ExecutionClient:
    def __init__(self, redis: Redis, commands_stream: str, timeout: float) -> None:
        self._redis = redis
        self._commands = commands_stream
        self._timeout = timeout
        self.requester = f"api-{uuid.uuid4().hex[:12]}"
        self._replies = REPLIES_STREAM.format(requester=self.requester)
        self._waiting: dict[str, _Waiting] = {}  # by request id
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_replies(), name="execution-replies")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        with contextlib.suppress(Exception):
            await self._redis.delete(self._replies)

    async def send(self, command: contracts.Command, retry_hint: str) -> contracts.Reply:
        """Send one command and wait for its reply (504 when none comes in time).

        The command carries the deadline this wait ends at: the service refuses it after that
        (COMMAND_EXPIRED, and forgets it), so a command given up on here never runs later.
        Waiting requests are keyed by request id: two concurrent sends of one command (a
        client retrying before its first try was answered) share the one reply; a different
        command under a request id still waiting is refused at once, since the one reply could
        not tell the two apart.
        """
        if not command.trace:
            command = msgspec.structs.replace(command, trace=current_request_id())
        rid = command.request_id
        identity = contracts.identity(command)
        waiting = self._waiting.get(rid)
        if waiting is not None and waiting.identity != identity:
            raise rejected(
                contracts.RejectCode.IDEMPOTENCY_CONFLICT,
                "this key is in use by a different request still in progress",
                rid,
            )
        if waiting is None:
            future = asyncio.get_running_loop().create_future()
            waiting = self._waiting[rid] = _Waiting(identity, future)
        waiting.senders += 1
        deadline = time.time_ns() + round(self._timeout * 1e9)
        stamped = msgspec.structs.replace(command, deadline=deadline)
        try:
            await self._redis.xadd(
                self._commands,
                {COMMAND_FIELD: contracts.encode(stamped), REQUESTER_FIELD: self.requester},
            )
            return await asyncio.wait_for(asyncio.shield(waiting.future), self._timeout)
        except TimeoutError:
            raise ApiError(
                504,
                "execution_timeout",
                "the execution service did not answer in time; it will not execute this request "
                f"after its deadline, and retrying with the same {retry_hint} returns the first "
                "result if it was executed",
                {"request_id": rid},
            ) from None
        finally:
            waiting.senders -= 1
            if not waiting.senders:
                del self._waiting[rid]  # a reply arriving later has no one to answer

    async def _read_replies(self) -> None:
        last: bytes | str = "0-0"  # our stream is new: everything in it is for us
        # Redis restarting: keep trying (a cancelled task is not retried)
        reads = async_retrying(f"reading {self._replies}", Exception, logger=log)
        while True:
            batches: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] = await reads(
                self._redis.xread,  # type: ignore[arg-type]
                {self._replies: last},
                count=512,
                block=1000,
            )
            for _, entries in batches or ():
                for entry_id, fields in entries:
                    last = entry_id
                    self._complete(fields.get(REPLY_FIELD))
                # Replies are read once: trim what we have consumed (retried like the read: a
                # failure here would end the reader, and every later request would time out).
                await reads(self._redis.xtrim, self._replies, minid=_after(last))

    def _complete(self, data: bytes | None) -> None:
        if data is None:
            return
        try:
            reply = contracts.decode_reply(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("undecodable reply on %s", self._replies)
            return
        if (
            isinstance(reply, contracts.Rejected)
            and reply.code is contracts.RejectCode.COMMAND_EXPIRED
        ):
            # The answer to a send already given up on (its wait ends at its deadline); a
            # retry of the same request still waiting has its own, later deadline.
            return
        waiting = self._waiting.get(reply.request_id)
        if waiting is not None and not waiting.future.done():
            waiting.future.set_result(reply)


def _after(entry_id: bytes | str) -> str:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return f"{ms}-{int(seq) + 1}"
