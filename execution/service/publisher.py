"""What leaves the process once a batch is committed, in one Redis pipeline: replies to each
requester, events (the replayable stream and the per-account channel), client prices (the
per-symbol channel, the last-price hash and one ticks-stream entry per pass), and finally the
acknowledgement of the command entries, so nothing is acknowledged before it was answered.

Replies and events are fanned out by two small Lua scripts, one call per requester and one per
batch for the events: Redis runs the per-message XADD / PUBLISH, and the loop only packs
arguments. Each call touches one key, so the scripts also run on Redis Cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import redis

from brokerstack.streams import (
    ACCOUNT_EVENTS_CHANNEL,
    ACCOUNT_STATES_HASH,
    EVENT_FIELD,
    EVENTS_MAXLEN,
    EVENTS_STREAM,
    EXECUTION_GROUP,
    LAST_QUOTES_HASH,
    QUOTE_STATES_HASH,
    QUOTES_CHANNEL,
    REPLIES_STREAM,
    REPLY_FIELD,
    TICK_BATCH_FIELD,
    TICKS_STREAM,
    encode_ticks,
)
from brokerstack.streams import Tick as StreamTick
from execution import contracts as c
from execution.service.batch import Batch

REPLIES_MAXLEN = 100_000  # a requester that went away leaves a bounded stream behind

# KEYS[1] a stream; ARGV[1] its approximate cap, ARGV[2] the field; then one value per entry
_APPEND = """
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[i])
end
"""
# KEYS[1] the events stream; ARGV[1] cap, ARGV[2] field; then (event, channel) pairs
_FAN_OUT = """
for i = 3, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[i])
  redis.call('PUBLISH', ARGV[i + 1], ARGV[i])
end
"""


def client_source(group: str) -> str:
    return f"client:{group}"


class Publisher:
    def __init__(self, client: redis.Redis, commands_stream: str) -> None:
        self.client = client
        self.commands_stream = commands_stream
        self._append = client.register_script(_APPEND)
        self._fan_out = client.register_script(_FAN_OUT)

    def send(self, batch: Batch) -> None:
        pipe = self.client.pipeline(transaction=False)
        by_requester: defaultdict[bytes, list[bytes]] = defaultdict(list)
        for requester, reply in batch.replies:
            if requester:
                by_requester[requester].append(reply)
        for requester, replies in by_requester.items():
            stream = REPLIES_STREAM.format(requester=requester.decode(errors="replace"))
            self._append([stream], [REPLIES_MAXLEN, REPLY_FIELD, *replies], client=pipe)
        ticks = self._events(pipe, batch.events)
        ticks.extend(batch.lp_ticks)
        if ticks:
            pipe.xadd(TICKS_STREAM, {TICK_BATCH_FIELD: encode_ticks(ticks)})
        if batch.acks:
            pipe.xack(self.commands_stream, EXECUTION_GROUP, *batch.acks)
            # every entry up to the last acknowledged one is done: keep the stream short
            pipe.xtrim(self.commands_stream, minid=_latest(batch.acks), approximate=True)
        pipe.execute()

    def _events(self, pipe: redis.client.Pipeline, events: Sequence[c.Event]) -> list[StreamTick]:
        ticks: list[StreamTick] = []
        last: dict[str, bytes] = {}
        symbol_states: dict[str, bytes] = {}
        account_states: dict[str, bytes] = {}
        fan_out: list[bytes | str | int] = [EVENTS_MAXLEN, EVENT_FIELD]
        for event in events:
            data = c.encode(event)
            if isinstance(event, c.Tick):
                pipe.publish(QUOTES_CHANNEL.format(symbol=event.symbol), data)
                last[f"{event.group}:{event.symbol}"] = data
                ticks.append(
                    StreamTick(
                        event.time, event.symbol, client_source(event.group),
                        float(event.bid), float(event.ask),
                    )
                )  # fmt: skip
            elif isinstance(event, c.QuoteState):
                pipe.publish(QUOTES_CHANNEL.format(symbol=event.symbol), data)
                symbol_states[event.symbol] = data
            elif isinstance(event, c.AccountState):
                # a state is replaced by the next one: live fan-out, not the replayable stream
                pipe.publish(ACCOUNT_EVENTS_CHANNEL.format(account_id=event.account_id), data)
                account_states[str(event.account_id)] = data
            else:
                fan_out += (data, ACCOUNT_EVENTS_CHANNEL.format(account_id=event.account_id))
        if len(fan_out) > 2:
            self._fan_out([EVENTS_STREAM], fan_out, client=pipe)
        for key, mapping in (
            (LAST_QUOTES_HASH, last),
            (QUOTE_STATES_HASH, symbol_states),
            (ACCOUNT_STATES_HASH, account_states),
        ):
            if mapping:
                pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
        return ticks


def _latest(entry_ids: Sequence[bytes]) -> bytes:
    def key(entry_id: bytes) -> tuple[int, int]:
        ms, _, seq = entry_id.partition(b"-")
        return int(ms), int(seq or 0)

    return max(entry_ids, key=key)
