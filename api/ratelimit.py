"""Rate limits shared by every api process: GCRA (a token bucket without a refill job) in
Redis, one round trip per request however many buckets it counts in.

The key stores the theoretical arrival time of the next request; a request is allowed when
that time is at most ``burst`` intervals ahead of now. Redis's clock is used so that api
processes on machines with drifting clocks agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

from api.errors import ApiError

# KEYS: the buckets; ARGV: interval and burst per bucket. A request passes only if every bucket
# lets it, and then counts in all of them; otherwise none is charged and the longest wait is
# returned.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - burst * interval
  if now < allow_at and allow_at - now > wait then wait = allow_at - now end
  tats[i] = new_tat
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tats[i], 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Limit:
    per_second: float
    burst: int

    @property
    def interval_us(self) -> int:
        return max(1, round(1_000_000 / self.per_second))


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_GCRA)

    async def wait_us(self, buckets: list[tuple[str, Limit]]) -> int:
        """0 when the request may go ahead (and is counted), else microseconds until it may."""
        args: list[int] = []
        for _, limit in buckets:
            args += (limit.interval_us, limit.burst)
        result = await self._script(keys=[key for key, _ in buckets], args=args)
        return int(result)

    async def check(self, buckets: list[tuple[str, Limit]], what: str) -> None:
        """One round trip for all buckets; 429 with Retry-After when any is exhausted."""
        wait = await self.wait_us(buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait / 1_000_000))
            raise ApiError(
                429,
                "rate_limited",
                f"too many {what}; retry after {retry_after} s",
                {
                    "scope": what,
                    "limits": [
                        {"per_second": limit.per_second, "burst": limit.burst}
                        for _, limit in buckets
                    ],
                },
                headers={"Retry-After": str(retry_after)},
            )
