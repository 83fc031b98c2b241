"""What the tick writer takes from an entry without a database: COPY tuples, window, checks."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from brokerstack.streams import TICK_BATCH_FIELD, TICK_BATCH_HEADER, Tick, encode_ticks
from ingest.consumer import Entry
from ingest.tick_sink import PG_EPOCH_US, TickBatch, entry_batch, pg_time, tick_problem

AT = datetime(2025, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC)
AT_NS = int(AT.timestamp()) * 1_000_000_000 + AT.microsecond * 1000 + 123


def test_an_entry_gives_its_tuples_as_they_are_and_its_window_from_the_header() -> None:
    ticks = [Tick(AT_NS, "EURUSD", "lp", 1.1, 1.2), Tick(AT_NS - 5_000, "EURUSD", "lp", 1.1, 1.2)]
    data = encode_ticks(ticks)

    batch = entry_batch(Entry(b"1-0", {TICK_BATCH_FIELD: data}))

    assert isinstance(batch, TickBatch)
    assert batch.tuples == data[TICK_BATCH_HEADER.size :]
    assert batch.count == 2
    assert batch.earliest == (AT_NS - 5_000) // 1000 - PG_EPOCH_US
    assert pg_time(batch.latest) == AT  # nanoseconds are truncated to microseconds


@pytest.mark.parametrize(
    "fields",
    [
        {TICK_BATCH_FIELD: b"\xc1"},
        {TICK_BATCH_FIELD: b"\x91\x01"},  # a msgpack list: not this format
        {TICK_BATCH_FIELD: encode_ticks([Tick(AT_NS, "EURUSD", "lp", 1.1, 1.2)])[:40]},
        {b"x": encode_ticks([])},
    ],
)
def test_an_unreadable_entry_is_reported_not_raised(fields: dict[bytes, bytes]) -> None:
    assert isinstance(entry_batch(Entry(b"1-0", fields)), Exception)


@pytest.mark.parametrize(
    ("tick", "problem"),
    [
        (Tick(0, "EURUSD", "lp", math.nan, 1.0), "positive and finite"),
        (Tick(0, "EURUSD", "lp", 1.0, math.inf), "positive and finite"),
        (Tick(0, "EURUSD", "lp", 0.0, 1.0), "positive and finite"),
        (Tick(0, "EURUSD", "lp", 1.0, -1.0), "positive and finite"),
        (Tick(0, "", "lp", 1.0, 1.0), "non-empty"),
        (Tick(0, "EUR\x00USD", "lp", 1.0, 1.0), "non-empty"),
    ],
)
def test_tick_problems_name_the_reason(tick: Tick, problem: str) -> None:
    found = tick_problem(tick)
    assert found is not None
    assert problem in found


def test_a_good_tick_has_no_problem() -> None:
    assert tick_problem(Tick(0, "EURUSD", "lp-alpha", 1.1, 1.1002)) is None
