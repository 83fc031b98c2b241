"""Client prices as the execution service publishes them: contract ``Tick`` events (one per
account group and symbol) on ``quotes:{symbol}``, the latest of each in the ``quotes:last``
hash under ``{group}:{symbol}``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import msgspec
from redis.asyncio import Redis

from api.margin import Price
from api.schemas import Quote
from brokerstack.streams import LAST_QUOTES_HASH
from execution import contracts


def last_quote_field(group: str, symbol: str) -> str:
    return f"{group}:{symbol}"


def decode_tick(data: bytes) -> contracts.Tick | None:
    try:
        event = contracts.decode_event(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return event if isinstance(event, contracts.Tick) else None


def from_ns(ns: int) -> datetime:
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1_000)


def to_quote(tick: contracts.Tick) -> Quote:
    return Quote(
        symbol=tick.symbol,
        bid=tick.bid,
        ask=tick.ask,
        time=from_ns(tick.time),
    )


async def last_ticks(redis: Redis, group: str, symbols: Iterable[str]) -> list[contracts.Tick]:
    wanted = list(symbols)
    if not wanted:
        return []
    raw = await redis.hmget(LAST_QUOTES_HASH, [last_quote_field(group, s) for s in wanted])
    ticks = (decode_tick(data) for data in raw if isinstance(data, bytes))
    return [tick for tick in ticks if tick is not None and tick.bid > 0 and tick.ask > 0]


async def last_prices(redis: Redis, group: str, symbols: Iterable[str]) -> dict[str, Price]:
    return {t.symbol: Price(t.bid, t.ask) for t in await last_ticks(redis, group, symbols)}
