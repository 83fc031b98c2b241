"""Client prices as the execution service publishes them, and whether each is one to trade at.

The service publishes contract ``Tick`` events (one per account group and symbol) on
``quotes:{symbol}`` and keeps the latest of each in ``quotes:last`` under ``{group}:{symbol}``.
When a symbol goes off quotes (no fresh price from any LP) or comes back it publishes a
``QuoteState`` on the same channel and into ``quotes:state``. A symbol is off quotes when the
service says so, or when its last price is older than the api's limit: a stopped service
says nothing, and its last prices must not pass for live ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
from redis.asyncio import Redis

from api.formats import SymbolDigits, fixed
from api.market import Market
from api.schemas import Quote
from brokerstack.streams import LAST_QUOTES_HASH, QUOTE_STATES_HASH
from brokerstack.times import NS_PER_SECOND, to_datetime
from execution import contracts


def last_quote_field(group: str, symbol: str) -> str:
    return f"{group}:{symbol}"


def decode_quote_event(data: bytes) -> contracts.Tick | contracts.QuoteState | None:
    """A message of a quotes channel (or hash): a price or a symbol's state."""
    try:
        event = contracts.decode_event(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return event if isinstance(event, contracts.Tick | contracts.QuoteState) else None


@dataclass(frozen=True, slots=True)
class Liveness:
    live: bool
    reason: str | None  # why it is off quotes; None when live


LIVE = Liveness(True, None)


def stale(age_ns: int) -> Liveness:
    return Liveness(False, f"no price for {age_ns // NS_PER_SECOND} s")


def said(state: contracts.QuoteState) -> Liveness:
    """What the execution service says of a symbol."""
    return LIVE if state.live else Liveness(False, state.reason or "off quotes")


def judge(
    price_time: int | None, state: contracts.QuoteState | None, now: int, max_age_ns: int
) -> Liveness:
    """Whether a symbol's last price (taken at ``price_time``) is one to trade at now."""
    if state is not None and not state.live:
        return said(state)
    if price_time is None:
        return Liveness(False, "never priced")
    if now - price_time > max_age_ns:
        return stale(now - price_time)
    return LIVE


async def quote_states(redis: Redis, symbols: list[str]) -> dict[str, contracts.QuoteState]:
    raw = await redis.hmget(QUOTE_STATES_HASH, symbols) if symbols else []
    states = {}
    for symbol, data in zip(symbols, raw, strict=True):
        event = decode_quote_event(data) if isinstance(data, bytes) else None
        if isinstance(event, contracts.QuoteState):
            states[symbol] = event
    return states


async def last_ticks(redis: Redis, group: str, symbols: list[str]) -> dict[str, contracts.Tick]:
    raw = await redis.hmget(LAST_QUOTES_HASH, [last_quote_field(group, s) for s in symbols])
    ticks = {}
    for symbol, data in zip(symbols, raw, strict=True):
        event = decode_quote_event(data) if isinstance(data, bytes) else None
        if isinstance(event, contracts.Tick) and event.bid > 0 and event.ask > 0:
            ticks[symbol] = event
    return ticks


async def group_quotes(
    market: Market, redis: Redis, group: str, symbols: list[str] | None, max_age_ns: int
) -> list[Quote]:
    """``/v1/quotes``: the named symbols (404 for one not listed), or every instrument."""
    if symbols:
        await market.check_listed(symbols)
    wanted = symbols or [i.symbol for i in await market.instruments()]
    digits = await market.digits()
    return await last_quotes(
        redis, group, [(s, digits[s]) for s in wanted], time.time_ns(), max_age_ns
    )


async def last_quotes(
    redis: Redis,
    group: str,
    symbols: Iterable[tuple[str, SymbolDigits]],
    now: int,
    max_age_ns: int,
) -> list[Quote]:
    """The group's last price of each symbol that has one, marked live or off quotes."""
    wanted = list(symbols)
    names = [symbol for symbol, _ in wanted]
    if not names:
        return []
    ticks = await last_ticks(redis, group, names)
    states = await quote_states(redis, names)
    quotes = []
    for symbol, digits in wanted:
        tick = ticks.get(symbol)
        if tick is None:
            continue
        liveness = judge(tick.time, states.get(symbol), now, max_age_ns)
        quotes.append(
            Quote(
                symbol=symbol,
                bid=fixed(tick.bid, digits.price),
                ask=fixed(tick.ask, digits.price),
                time=to_datetime(tick.time),
                live=liveness.live,
                off_quotes_reason=liveness.reason,
            )
        )
    return quotes


@dataclass(slots=True)
class _Seen:
    liveness: Liveness
    price_time: int | None


class Freshness:
    """Whether each watched symbol is live, kept from its prices and states as they arrive
    (the WebSocket hub's view): each call answers the new liveness when it changed."""

    def __init__(self, max_age_ns: int) -> None:
        self.max_age_ns = max_age_ns
        self._seen: dict[str, _Seen] = {}

    def watch(
        self, symbol: str, price_time: int | None, state: contracts.QuoteState | None, now: int
    ) -> Liveness:
        seen = self._seen.get(symbol)
        if seen is None:
            liveness = judge(price_time, state, now, self.max_age_ns)
            seen = self._seen[symbol] = _Seen(liveness, price_time)
        return seen.liveness

    def current(self, symbol: str) -> Liveness:
        seen = self._seen.get(symbol)
        return seen.liveness if seen is not None else Liveness(False, "not watched")

    def forget(self, symbol: str) -> None:
        self._seen.pop(symbol, None)

    def on_tick(self, symbol: str, time: int) -> Liveness | None:
        seen = self._seen.get(symbol)
        if seen is None:
            return None
        seen.price_time = max(time, seen.price_time or time)
        return self._become(seen, LIVE)  # a fresh client price is the service saying "live"

    def on_state(self, state: contracts.QuoteState) -> Liveness | None:
        seen = self._seen.get(state.symbol)
        if seen is None:
            return None
        return self._become(seen, said(state))

    def expire(self, now: int) -> list[tuple[str, Liveness]]:
        """The live symbols whose last price has grown too old (the service stopped, or a
        market closed) as they go off quotes."""
        gone = []
        for symbol, seen in self._seen.items():
            age = now - (seen.price_time if seen.price_time is not None else now)
            if seen.liveness.live and age > self.max_age_ns:
                seen.liveness = stale(age)
                gone.append((symbol, seen.liveness))
        return gone

    @staticmethod
    def _become(seen: _Seen, liveness: Liveness) -> Liveness | None:
        if liveness == seen.liveness:
            return None
        seen.liveness = liveness
        return liveness
