"""Live streams for WebSocket clients: one Redis pub/sub connection per api process, fanned
out to every socket of the process.

Quotes are conflated per socket (latest wins per symbol): a slow socket skips prices it had
no time to send and never holds up the reader or other sockets. Whether a symbol is live is
sent as a ``quote_state`` message when it changes (the execution service's word, or a price
grown older than the api's limit) and when a socket subscribes; a symbol going off quotes
takes its unsent price with it. Account events are never
dropped: they queue per socket up to a bound, and a socket that falls that far behind is
closed (code 1013) so its client reconnects and re-reads state over REST.

Each message is turned into JSON once, however many sockets receive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from api.quotes import Freshness, Liveness, decode_quote_event, last_ticks, quote_states
from brokerstack.retries import async_retrying
from brokerstack.streams import ACCOUNT_EVENTS_CHANNEL, QUOTES_CHANNEL
from execution import contracts

log = logging.getLogger(__name__)

_QUOTE_PREFIX = QUOTES_CHANNEL.format(symbol="")
_EVENT_PREFIX = ACCOUNT_EVENTS_CHANNEL.format(account_id="")
_WATCH_SECONDS = 0.5


class SlowConsumer(Exception):
    pass


class Subscriber:
    """One socket's view of the hub: what it wants and what is waiting to be sent."""

    def __init__(self, group: str, backlog: int) -> None:
        self.group = group  # whose marked-up prices this socket sees
        self.quotes: dict[str, str] = {}  # symbol -> latest quote JSON not yet sent
        self.events: deque[str] = deque()
        self.backlog = backlog
        self.overflowed = False
        self.wake = asyncio.Event()

    def offer_quote(self, symbol: str, text: str) -> None:
        self.quotes[symbol] = text  # replaces an unsent older price
        self.wake.set()

    def offer_event(self, text: str) -> None:
        if len(self.events) >= self.backlog:
            self.overflowed = True
        else:
            self.events.append(text)
        self.wake.set()

    def drop_quote(self, symbol: str) -> None:
        self.quotes.pop(symbol, None)

    def push(self, text: str) -> None:
        """A control message (acknowledgement, error) in order with events."""
        self.events.append(text)
        self.wake.set()

    async def next_batch(self) -> list[str]:
        """Wait for something to send; events first, then the latest price per symbol."""
        await self.wake.wait()
        self.wake.clear()
        if self.overflowed:
            raise SlowConsumer
        batch = list(self.events)
        self.events.clear()
        if self.quotes:
            batch.extend(self.quotes.values())
            self.quotes.clear()
        return batch


class Hub:
    def __init__(self, redis: Redis, quote_max_age_ns: int) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.freshness = Freshness(quote_max_age_ns)
        self._channels: dict[str, set[Subscriber]] = {}
        self._lock = asyncio.Lock()
        # Keeps the pub/sub connection in subscribed mode even with no socket listening.
        self._own_channel = f"api:hub:{uuid.uuid4().hex}"

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._own_channel)
        self._reader = asyncio.create_task(self._read(), name="stream-hub")
        self._watcher = asyncio.create_task(self._watch(), name="stream-hub-freshness")

    async def stop(self) -> None:
        for task in (self._reader, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    async def subscribe(self, subscriber: Subscriber, channel: str) -> None:
        async with self._lock:
            members = self._channels.get(channel)
            if members is None:
                members = self._channels[channel] = set()
                assert self._pubsub is not None
                await self._pubsub.subscribe(channel)
            members.add(subscriber)
            if channel.startswith(_QUOTE_PREFIX):
                await self._watch_symbol(channel.removeprefix(_QUOTE_PREFIX), subscriber.group)

    def state_message(self, symbol: str) -> str:
        """Whether a subscribed symbol is live now (what a socket hears when it subscribes)."""
        return state_json(symbol, self.freshness.current(symbol), time.time_ns())

    async def _watch_symbol(self, symbol: str, group: str) -> Liveness:
        tick = (await last_ticks(self._redis, group, [symbol])).get(symbol)
        state = (await quote_states(self._redis, [symbol])).get(symbol)
        price_time = tick.time if tick is not None else None
        return self.freshness.watch(symbol, price_time, state, time.time_ns())

    async def unsubscribe(self, subscriber: Subscriber, channel: str) -> None:
        async with self._lock:
            members = self._channels.get(channel)
            if members is None:
                return
            members.discard(subscriber)
            if not members:
                del self._channels[channel]
                assert self._pubsub is not None
                await self._pubsub.unsubscribe(channel)
                self.freshness.forget(channel.removeprefix(_QUOTE_PREFIX))

    async def leave(self, subscriber: Subscriber) -> None:
        for channel in [c for c, members in self._channels.items() if subscriber in members]:
            await self.unsubscribe(subscriber, channel)

    async def _read(self) -> None:
        # Redis restarting: redis-py resubscribes on reconnect (a cancelled task is not retried).
        # The retry wraps the whole reading loop, not each read: a message is read in a few
        # microseconds, and going through tenacity for each would double that.
        await async_retrying("pub/sub read", Exception, logger=log)(self._read_until_failure)

    async def _read_until_failure(self) -> None:
        assert self._pubsub is not None
        while True:
            message: dict[str, Any] | None = await self._pubsub.get_message(timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            self.dispatch(name, message["data"])

    def dispatch(self, channel: str, data: bytes) -> None:
        members = self._channels.get(channel)
        if not members:
            return
        if channel.startswith(_QUOTE_PREFIX):
            event = decode_quote_event(data)
            if isinstance(event, contracts.Tick):
                self._tell(members, event.symbol, self.freshness.on_tick(event.symbol, event.time))
                text = quote_json(event)
                for subscriber in members:
                    if subscriber.group == event.group:
                        subscriber.offer_quote(event.symbol, text)
            elif isinstance(event, contracts.QuoteState):
                self._tell(members, event.symbol, self.freshness.on_state(event), event.time)
        elif channel.startswith(_EVENT_PREFIX):
            decoded = event_json(data)
            if decoded is None:
                return
            account_event, event_text = decoded
            for subscriber in members:
                if isinstance(account_event, contracts.AccountState):
                    # the next state replaces it: latest wins, like a price
                    subscriber.offer_quote(f"account:{account_event.account_id}", event_text)
                else:
                    subscriber.offer_event(event_text)

    def _tell(
        self,
        members: set[Subscriber],
        symbol: str,
        change: Liveness | None,
        when: int | None = None,
    ) -> None:
        if change is None:
            return
        text = state_json(symbol, change, when or time.time_ns())
        for subscriber in members:
            if not change.live:
                subscriber.drop_quote(symbol)  # not a price to trade at any more
            subscriber.push(text)

    async def _watch(self) -> None:
        """Take symbols off quotes whose last price grew too old (nothing else would say so
        when the execution service itself stopped)."""
        while True:
            await asyncio.sleep(_WATCH_SECONDS)
            for symbol, liveness in self.freshness.expire(time.time_ns()):
                members = self._channels.get(QUOTES_CHANNEL.format(symbol=symbol), set())
                self._tell(members, symbol, liveness)


_EVENT_NAMES = {
    contracts.OrderUpdate: "order",
    contracts.Deal: "deal",
    contracts.PositionUpdate: "position",
    contracts.BalanceChange: "balance",
    contracts.MarginCall: "margin_call",
    contracts.StopOut: "stop_out",
    contracts.AccountState: "account_state",
    contracts.ValuationAlert: "valuation_alert",
}


def quote_json(tick: contracts.Tick) -> str:
    return msgspec.json.encode(
        {
            "type": "quote",
            "symbol": tick.symbol,
            "bid": tick.bid,
            "ask": tick.ask,
            "time_ns": tick.time,
        }
    ).decode()


def state_json(symbol: str, liveness: Liveness, time_ns: int) -> str:
    return msgspec.json.encode(
        {
            "type": "quote_state",
            "symbol": symbol,
            "live": liveness.live,
            "off_quotes_reason": liveness.reason,
            "time_ns": time_ns,
        }
    ).decode()


def event_json(data: bytes) -> tuple[contracts.Event, str] | None:
    """An account event and its message, once for every socket; None for one not sent."""
    try:
        event = contracts.decode_event(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.warning("undecodable account event dropped")
        return None
    name = _EVENT_NAMES.get(type(event))
    if name is None:
        return None
    account_id = getattr(event, "account_id", None)
    body = msgspec.json.encode(event).decode()
    return event, f'{{"type":"event","event":"{name}","account_id":{account_id},"data":{body}}}'
