"""What the back-office routes use from the api process: the execution service as
:class:`backoffice.commands.ExecutionCommands` and its published prices as
:class:`backoffice.wallets.conversions.PriceHashes`, for synchronous routes.

Back-office services are synchronous (the worker, the dashboards and the command line call the
same functions); FastAPI runs a ``def`` route in its threadpool, and such a route reaches the
execution service through this process's asynchronous client on the event loop.
"""

from __future__ import annotations

import anyio.from_thread
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.errors import ApiError
from api.execution_client import ExecutionClient
from backoffice.commands import ExecutionUnavailable
from backoffice.errors import Refused
from execution import contracts


class RouteCommands:
    def __init__(self, client: ExecutionClient) -> None:
        self._client = client

    def execute(self, command: contracts.Command) -> contracts.Reply:
        """The service's reply; `ExecutionUnavailable` when none comes in time or Redis cannot
        be reached (the back office's functions roll back and the route answers 503)."""
        try:
            return anyio.from_thread.run(self._client.send, command, "request id")
        except ApiError as error:
            if error.status != 504:
                raise
            raise ExecutionUnavailable(error.message) from error
        except RedisError as error:
            raise ExecutionUnavailable(f"the command stream is unreachable: {error}") from error


class RoutePrices:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def hmget(self, name: str, keys: list[str]) -> list[bytes | str | None]:
        """The hash's fields; Redis unreachable is the back office's ``unavailable``."""

        async def read() -> list[bytes | str | None]:
            return await self._redis.hmget(name, keys)

        try:
            return anyio.from_thread.run(read)
        except RedisError as error:
            raise Refused("unavailable", "prices_unavailable",
                          "the live prices cannot be read now: try again") from error  # fmt: skip
