"""The execution service as the back office sees it: something that executes a command and
answers with its reply. The account flags, leverage and group, balance operations and dealer
closes the back office decides all travel this way (the service is the writer of trading state).

Callers pass an :class:`ExecutionCommands`; the worker and the command line use
:class:`RedisCommands` (the command client over the shard's stream), the api adapts its own
asynchronous client, tests may pass any object with ``execute``.
"""

from __future__ import annotations

import threading
from typing import Protocol

import redis

from execution import contracts as c
from execution.service.client import CommandClient, ReplyTimeout


class ExecutionUnavailable(RuntimeError):
    """No reply in time: the command may or may not have run (resend it with the same
    request id: a replayed command is answered, not executed twice)."""


class ExecutionCommands(Protocol):
    def execute(self, command: c.Command) -> c.Reply: ...


class RedisCommands:
    """Commands over Redis with one requester per thread (a reply stream each)."""

    def __init__(self, redis_url: str, shard: str = "main", timeout: float = 10.0) -> None:
        self._redis = redis.Redis.from_url(redis_url)
        self._shard = shard
        self._timeout = timeout
        self._local = threading.local()

    def execute(self, command: c.Command) -> c.Reply:
        client: CommandClient | None = getattr(self._local, "client", None)
        if client is None:
            client = CommandClient(self._redis, self._shard)
            self._local.client = client
        try:
            return client.request(command, self._timeout)
        except ReplyTimeout as exc:
            raise ExecutionUnavailable(str(exc)) from exc

    def close(self) -> None:
        self._redis.close()
