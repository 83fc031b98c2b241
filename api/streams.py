"""Live streams for WebSocket clients: one Redis pub/sub connection per api process, fanned
out to every socket of the process.

Quotes are conflated per socket (latest wins per symbol): a slow socket skips prices it had
no time to send and never holds up the reader or other sockets. Account events are never
dropped: they queue per socket up to a bound, and a socket that falls that far behind is
closed (code 1013) so its client reconnects and re-reads state over REST.

Each message is turned into JSON once, however many sockets receive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from api.quotes import decode_tick
from brokerstack.streams import ACCOUNT_EVENTS_CHANNEL, QUOTES_CHANNEL
from execution import contracts

log = logging.getLogger(__name__)

_QUOTE_PREFIX = QUOTES_CHANNEL.format(symbol="")
_EVENT_PREFIX = ACCOUNT_EVENTS_CHANNEL.format(account_id="")


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
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._channels: dict[str, set[Subscriber]] = {}
        self._lock = asyncio.Lock()
        # Keeps the pub/sub connection in subscribed mode even with no socket listening.
        self._own_channel = f"api:hub:{uuid.uuid4().hex}"

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._own_channel)
        self._reader = asyncio.create_task(self._read(), name="stream-hub")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
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

    async def leave(self, subscriber: Subscriber) -> None:
        for channel in [c for c, members in self._channels.items() if subscriber in members]:
            await self.unsubscribe(subscriber, channel)

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis restarting: redis-py resubscribes on reconnect
                log.warning("pub/sub read failed (%s); retrying", error)
                await asyncio.sleep(0.5)
                continue
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
            tick = decode_tick(data)
            if tick is None:
                return
            text = quote_json(tick)
            for subscriber in members:
                if subscriber.group == tick.group:
                    subscriber.offer_quote(tick.symbol, text)
        elif channel.startswith(_EVENT_PREFIX):
            event_text = event_json(data)
            if event_text is None:
                return
            for subscriber in members:
                subscriber.offer_event(event_text)


_EVENT_NAMES = {
    contracts.OrderUpdate: "order",
    contracts.Deal: "deal",
    contracts.PositionUpdate: "position",
    contracts.BalanceChange: "balance",
    contracts.MarginCall: "margin_call",
    contracts.StopOut: "stop_out",
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


def event_json(data: bytes) -> str | None:
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
    return f'{{"type":"event","event":"{name}","account_id":{account_id},"data":{body}}}'
