"""The ticks stream's wire format (``brokerstack.streams``): a header, then binary COPY tuples."""

from __future__ import annotations

import math
import re
import struct

import pytest

from brokerstack.streams import (
    PG_EPOCH_US,
    TICK_BATCH_HEADER,
    TICK_BATCH_VERSION,
    Tick,
    TickBatchError,
    decode_ticks,
    encode_ticks,
    tick_batch_header,
)

T0 = 1_751_327_999_999_999_000  # whole microseconds: the wire's resolution


def _ticks() -> list[Tick]:
    return [
        Tick(T0, "EURUSD", "lp-alpha", 1.08011, 1.08013),
        Tick(T0 - 7_000, "XAUUSD", "client:std", 2345.5, 2346.0),
        Tick(1_000, "€ΣΥΜΒΟΛΟ", "lp", 2, 3),  # before 2000: negative PostgreSQL time
        Tick(T0 + 1_000, "EURUSD", "lp-alpha", math.nan, math.inf),  # the database refuses it
    ]


def test_a_batch_decodes_to_the_ticks_encoded() -> None:
    assert decode_ticks(encode_ticks(_ticks()))[:3] == _ticks()[:3]
    last = decode_ticks(encode_ticks(_ticks()))[3]
    assert math.isnan(last.bid)
    assert last.ask == math.inf


def test_times_travel_as_whole_microseconds_floored() -> None:
    (tick,) = decode_ticks(encode_ticks([Tick(T0 + 999, "EURUSD", "lp", 1.0, 1.0)]))
    assert tick.time_ns == T0
    (tick,) = decode_ticks(encode_ticks([Tick(-1, "EURUSD", "lp", 1.0, 1.0)]))
    assert tick.time_ns == -1_000


def test_each_tick_is_the_binary_copy_tuple_of_its_row() -> None:
    data = encode_ticks([Tick(T0, "EURUSD", "lp", 1.5, 2.5)])

    expected = (
        struct.pack(">h", 5)
        + struct.pack(">iq", 8, T0 // 1000 - PG_EPOCH_US)
        + struct.pack(">i", 6)
        + b"EURUSD"
        + struct.pack(">i", 2)
        + b"lp"
        + struct.pack(">id", 8, 1.5)
        + struct.pack(">id", 8, 2.5)
    )
    assert data[TICK_BATCH_HEADER.size :] == expected


def test_the_header_has_the_count_and_the_time_window_of_unordered_ticks() -> None:
    data = encode_ticks(_ticks())

    count, earliest, latest = tick_batch_header(data)

    assert data[0] == TICK_BATCH_VERSION
    assert count == 4
    assert earliest == 1 - PG_EPOCH_US  # the tick at 1,000 ns, floored to 1 µs
    assert latest == (T0 + 1_000) // 1000 - PG_EPOCH_US


def test_an_empty_batch_is_a_header_alone() -> None:
    data = encode_ticks([])
    assert len(data) == TICK_BATCH_HEADER.size
    assert tick_batch_header(data)[0] == 0
    assert decode_ticks(data) == []


def _with_count(data: bytes, count: int) -> bytes:
    _, _, earliest, latest = TICK_BATCH_HEADER.unpack_from(data)
    header = TICK_BATCH_HEADER.pack(TICK_BATCH_VERSION, count, earliest, latest)
    return header + data[TICK_BATCH_HEADER.size :]


GOOD = encode_ticks(_ticks()[:2])
HEADER = TICK_BATCH_HEADER.size


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "not a tick batch"),
        (b"\x92\x01\x02", "not a tick batch"),  # msgpack, the old format
        (bytes([TICK_BATCH_VERSION + 1]) + GOOD[1:], "not a tick batch"),
        (GOOD[:HEADER] + b"\x00" * 40, "cannot hold"),  # too short for two ticks
        (GOOD[:HEADER] + b"x" * 200, "not a (time, ...) tuple"),
        (_with_count(GOOD, 1), "bytes after the last"),
        (_with_count(GOOD, 3), "cannot hold"),
        (_with_count(GOOD + bytes(30), 3), "tick 2: not a"),
        (GOOD + b"\x00", "bytes after the last"),
        (GOOD[:HEADER] + GOOD[HEADER:].replace(b"EURUSD", b"EUR\xffSD"), "tick 0"),
        (
            GOOD[:HEADER] + GOOD[HEADER:].replace(b"\x00\x00\x00\x06EUR", b"\x00\x00\x7f\x06EUR"),
            "runs past the batch",
        ),
        (GOOD[:HEADER] + GOOD[HEADER:].replace(b"\x00\x05", b"\x00\x06", 1), "tuple"),
        (GOOD[:5] + bytes(8) + GOOD[13:], "time window"),
    ],
)
def test_a_malformed_batch_is_refused_with_the_reason(data: bytes, why: str) -> None:
    with pytest.raises(TickBatchError, match=re.escape(why)):
        decode_ticks(data)


@pytest.mark.parametrize(
    "data", [b"", b"\x92\x01\x02", GOOD[: HEADER + 45], _with_count(GOOD, 0), _with_count(GOOD, 9)]
)
def test_the_cheap_header_check_refuses_what_cannot_be_a_batch(data: bytes) -> None:
    with pytest.raises(TickBatchError):
        tick_batch_header(data)
