"""Names and encodings of what crosses Redis between the stack's processes.

One place for every stream, channel and key, so a producer and its consumers cannot drift apart.
The execution service's commands, replies and events are encoded by ``execution.contracts``;
this module owns the market-data side (ticks), which the tick writer in ``ingest/`` consumes.
"""

from __future__ import annotations

from typing import Final

import msgspec

# Commands to the execution service: one stream per book shard, read by its consumer group.
COMMANDS_STREAM: Final = "commands:{shard}"
EXECUTION_GROUP: Final = "execution"
# Fields of a command entry: the msgpack-encoded command and the requester to reply to.
COMMAND_FIELD: Final = b"c"
REQUESTER_FIELD: Final = b"r"
# Replies go back to the process that asked (each api process reads its own stream).
REPLIES_STREAM: Final = "replies:{requester}"
REPLY_FIELD: Final = b"m"
# Field of an event entry (the msgpack-encoded contract event).
EVENT_FIELD: Final = b"e"
# Execution events: a replayable, trimmed stream, plus per-account pub/sub for live fan-out.
EVENTS_STREAM: Final = "events"
ACCOUNT_EVENTS_CHANNEL: Final = "events:account:{account_id}"
# Client prices: pub/sub per symbol for live fan-out; the last price per symbol in one hash.
QUOTES_CHANNEL: Final = "quotes:{symbol}"
LAST_QUOTES_HASH: Final = "quotes:last"
# Every published client price and every LP quote, for the tick writer (exactly once).
TICKS_STREAM: Final = "ticks"
TICK_WRITERS_GROUP: Final = "tick-writers"
# CRM and back-office events for the event writer.
CRM_EVENTS_STREAM: Final = "crm-events"
EVENT_WRITERS_GROUP: Final = "event-writers"
# Approximate cap on replayable streams (XADD MAXLEN ~); ticks are trimmed by the writer instead.
EVENTS_MAXLEN: Final = 1_000_000

# A stream entry of the ticks stream carries a batch (field ``b``): one XADD per pricing pass
# instead of one per tick keeps Redis and the writer off the hot path.
TICK_BATCH_FIELD: Final = b"b"


class Tick(msgspec.Struct, array_like=True, frozen=True):
    """One quote: time in integer nanoseconds UTC; prices as floats (quotes may be binary)."""

    time_ns: int
    symbol: str
    source: str  # an LP code ('lp-alpha') or 'client:<group code>' for published prices
    bid: float
    ask: float


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[Tick])


def encode_ticks(ticks: list[Tick]) -> bytes:
    return _encoder.encode(ticks)


def decode_ticks(data: bytes) -> list[Tick]:
    """Decode a batch; raises ``msgspec.ValidationError`` / ``DecodeError`` on a bad entry."""
    return _decoder.decode(data)
