"""Whether this api process can serve: its PostgreSQL, Redis and execution service.

The execution service counts as reachable while its heartbeat in Redis (refreshed every
second, see ``execution.service.status``) is fresh: a service that died or hangs stops it, and
an order sent meanwhile would only wait for its timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from brokerstack.streams import EXECUTION_STATUS_HASH, HEARTBEAT_UPDATED_FIELD

CHECK_SECONDS = 2.0


class Readiness:
    def __init__(self, pool: AsyncConnectionPool, redis: Redis, shard: str, max_age: float):
        self._pool = pool
        self._redis = redis
        self._heartbeat = EXECUTION_STATUS_HASH.format(shard=shard)
        self._max_age = max_age

    async def failures(self) -> dict[str, str]:
        """What this process cannot reach now (empty when it is ready), checked side by side."""
        names = ("postgres", "redis", "execution")
        answers = await asyncio.gather(
            self._checked(self._postgres()),
            self._checked(self._redis_ping()),
            self._checked(self._execution()),
        )
        return {name: why for name, why in zip(names, answers, strict=True) if why is not None}

    @staticmethod
    async def _checked(check: Coroutine[object, object, str | None]) -> str | None:
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                return await check
        except TimeoutError:
            return f"no answer within {CHECK_SECONDS:.0f}s"
        except Exception as exc:
            text = str(exc).strip()
            return text.splitlines()[0] if text else type(exc).__name__

    async def _postgres(self) -> str | None:
        async with self._pool.connection(timeout=CHECK_SECONDS) as conn:
            await conn.execute("SELECT 1")
        return None

    async def _redis_ping(self) -> str | None:
        await self._redis.ping()
        return None

    async def _execution(self) -> str | None:
        updated = await self._redis.hget(self._heartbeat, HEARTBEAT_UPDATED_FIELD)
        if updated is None:
            return f"no heartbeat from the execution service ({self._heartbeat})"
        age = time.time() - float(updated)
        if age > self._max_age:
            return f"the execution service's last heartbeat was {age:.0f}s ago"
        return None
