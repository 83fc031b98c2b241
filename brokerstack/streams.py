"""Names and encodings of what crosses Redis between the stack's processes.

One place for every stream, channel and key, so a producer and its consumers cannot drift apart.
The execution service's commands, replies and events are encoded by ``execution.contracts``;
this module owns the market-data side (ticks), which the tick writer in ``ingest/`` consumes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from operator import attrgetter
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
# Whether each symbol has a fresh client price (a contract QuoteState per symbol; absent: never
# priced). Changes are also published on the symbol's quotes channel.
QUOTE_STATES_HASH: Final = "quotes:state"
# Each account as the execution core values it (a contract AccountState per account id), the
# one valuation the api serves; each change is also published on the account's events channel.
ACCOUNT_STATES_HASH: Final = "accounts:state"
# Every published client price and every LP quote, for the tick writer (exactly once).
TICKS_STREAM: Final = "ticks"
TICK_WRITERS_GROUP: Final = "tick-writers"
# CRM and back-office events for the event writer.
CRM_EVENTS_STREAM: Final = "crm-events"
EVENT_WRITERS_GROUP: Final = "event-writers"
# The execution service's heartbeat per shard: a hash refreshed every second with
# ``updated_at`` (unix seconds), ``pid`` and ``sessions`` (its LP sessions, ``encode_sessions``);
# it expires soon after the service stops refreshing it. ``brokerstack status`` reads it.
EXECUTION_STATUS_HASH: Final = "execution:status:{shard}"
# The field every heartbeat hash (the execution service's, the writers' metrics) refreshes.
HEARTBEAT_UPDATED_FIELD: Final = "updated_at"
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


# A tick batch on the wire is a header followed by the ticks as PostgreSQL binary COPY tuples
# of ``ticks (time, symbol, source, bid, ask)``, so the tick writer hands a batch to COPY as
# it is, with no work per tick. The header: format version, tick count, and the earliest and
# latest tick time (the window whose candles the batch changes). Times travel as
# timestamptz's binary form, int8 microseconds since 2000-01-01 UTC: the warehouse's
# resolution, so sub-microsecond digits of ``Tick.time_ns`` are dropped.
TICK_COPY_COLUMNS: Final = ("time", "symbol", "source", "bid", "ask")
TICK_BATCH_VERSION: Final = 1
TICK_BATCH_HEADER: Final = struct.Struct(">BIqq")
PG_EPOCH_US: Final = 946_684_800_000_000
# The smallest tuple: field count, five field lengths, time, bid, ask, two empty texts.
MIN_TICK_TUPLE_SIZE: Final = 2 + 5 * 4 + 3 * 8

_FIELDS, _INT8_SIZE = len(TICK_COPY_COLUMNS), 8
_tuple_head = struct.Struct(">hiqi")  # field count, time (length, value), symbol length
_int4 = struct.Struct(">i")
_tuple_tail = struct.Struct(">idid")  # bid and ask (length, value)
_time_ns = attrgetter("time_ns")
# Per (symbol, source) — as many as the broker has symbols times sources: the tuple's packer
# and its constant middle (the two texts with their lengths, the bid's length), so a tick
# costs one struct call.
_tuple_layouts: dict[tuple[str, str], tuple[Callable[..., bytes], bytes]] = {}


class LpSessionStatus(msgspec.Struct, array_like=True, frozen=True):
    """One LP session as the execution service sees it."""

    lp: str
    role: str  # "quote" or "trade" (FIX), or "in-process" (the demo LPs)
    host: str  # where it connects ("" in process)
    port: int
    logged_on: bool


def encode_sessions(sessions: list[LpSessionStatus]) -> bytes:
    return msgspec.json.encode(sessions)


def decode_sessions(data: bytes) -> list[LpSessionStatus]:
    return msgspec.json.decode(data, type=list[LpSessionStatus])


class TickBatchError(ValueError):
    """A ticks stream entry that is not a well-formed tick batch."""


def encode_ticks(ticks: list[Tick]) -> bytes:
    """The wire form of a batch; NaN, infinite or non-positive prices are left to the reader."""
    layouts = _tuple_layouts.get
    parts = [b""]
    append = parts.append
    for tick in ticks:
        pack, middle = layouts((tick.symbol, tick.source)) or _layout(tick.symbol, tick.source)
        pg_us = tick.time_ns // 1000 - PG_EPOCH_US
        append(pack(_FIELDS, _INT8_SIZE, pg_us, middle, tick.bid, _INT8_SIZE, tick.ask))
    earliest = latest = 0
    if ticks:  # flooring to microseconds keeps the order: convert the extremes only
        earliest = min(map(_time_ns, ticks)) // 1000 - PG_EPOCH_US
        latest = max(map(_time_ns, ticks)) // 1000 - PG_EPOCH_US
    parts[0] = TICK_BATCH_HEADER.pack(TICK_BATCH_VERSION, len(ticks), earliest, latest)
    return b"".join(parts)


def _layout(symbol: str, source: str) -> tuple[Callable[..., bytes], bytes]:
    symbol_bytes, source_bytes = symbol.encode(), source.encode()
    middle = b"".join(
        (
            _int4.pack(len(symbol_bytes)),
            symbol_bytes,
            _int4.pack(len(source_bytes)),
            source_bytes,
            _int4.pack(_INT8_SIZE),
        )
    )
    layout = (struct.Struct(f">hiq{len(middle)}sdid").pack, middle)
    _tuple_layouts[(symbol, source)] = layout
    return layout


def decode_ticks(data: bytes) -> list[Tick]:
    """Decode and check a batch completely; raises ``TickBatchError`` on a malformed one."""
    count, earliest, latest = tick_batch_header(data)
    ticks: list[Tick] = []
    pos = TICK_BATCH_HEADER.size
    try:
        for _ in range(count):
            fields, time_size, pg_us, size = _tuple_head.unpack_from(data, pos)
            if fields != _FIELDS or time_size != _INT8_SIZE:
                raise TickBatchError(f"tick {len(ticks)}: not a (time, ...) tuple")
            symbol, pos = _text(data, pos + _tuple_head.size, size)
            (size,) = _int4.unpack_from(data, pos)
            source, pos = _text(data, pos + _int4.size, size)
            bid_size, bid, ask_size, ask = _tuple_tail.unpack_from(data, pos)
            if bid_size != _INT8_SIZE or ask_size != _INT8_SIZE:
                raise TickBatchError(f"tick {len(ticks)}: bid/ask are not float8")
            pos += _tuple_tail.size
            ticks.append(Tick((pg_us + PG_EPOCH_US) * 1000, symbol, source, bid, ask))
    except (struct.error, UnicodeDecodeError) as exc:
        raise TickBatchError(f"tick {len(ticks)}: {exc}") from exc
    if pos != len(data):
        raise TickBatchError(f"{len(data) - pos} bytes after the last of {count} ticks")
    times = [tick.time_ns // 1000 - PG_EPOCH_US for tick in ticks]
    if (min(times, default=0), max(times, default=0)) != (earliest, latest):
        raise TickBatchError("the header's time window does not match the ticks")
    return ticks


def tick_batch_header(data: bytes) -> tuple[int, int, int]:
    """Count, earliest and latest time (PostgreSQL microseconds) of a batch, checked cheaply.

    Only the header and the length are checked, not the tuples: for the writer's fast path,
    which lets COPY and its row count catch the rest (``decode_ticks`` checks everything).
    """
    if len(data) < TICK_BATCH_HEADER.size or data[0] != TICK_BATCH_VERSION:
        raise TickBatchError(f"not a tick batch of version {TICK_BATCH_VERSION}")
    _, count, earliest, latest = TICK_BATCH_HEADER.unpack_from(data)
    size = len(data) - TICK_BATCH_HEADER.size
    if size < count * MIN_TICK_TUPLE_SIZE or (count == 0) != (size == 0):
        raise TickBatchError(f"{size} bytes cannot hold {count} ticks")
    return count, earliest, latest


def _text(data: bytes, pos: int, size: int) -> tuple[str, int]:
    end = pos + size
    if size < 0 or end > len(data):
        raise TickBatchError(f"text of {size} bytes at {pos} runs past the batch")
    return data[pos:end].decode(), end
