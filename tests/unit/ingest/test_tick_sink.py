"""The tick writer's decoding and checks, without a database."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from brokerstack.streams import TICK_BATCH_FIELD, Tick, decode_ticks, encode_ticks
from ingest.consumer import Entry
from ingest.tick_sink import PG_EPOCH_US, decode_batch, pg_time, row_problem, rows_of

AT = datetime(2025, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC)
AT_NS = int(AT.timestamp()) * 1_000_000_000 + AT.microsecond * 1000 + 123


def test_the_writer_reads_exactly_what_the_shared_encoding_writes() -> None:
    ticks = [Tick(AT_NS, "EURUSD", "lp-alpha", 1.08011, 1.08013), Tick(1, "X", "client:std", 2, 3)]
    data = encode_ticks(ticks)

    assert [Tick(*raw) for raw in decode_batch(data)] == decode_ticks(data) == ticks


def test_rows_carry_time_as_postgres_microseconds_and_the_window() -> None:
    ticks = [Tick(AT_NS, "EURUSD", "lp", 1.1, 1.2), Tick(AT_NS - 5_000, "EURUSD", "lp", 1.1, 1.2)]
    batch = rows_of(Entry(b"1-0", {TICK_BATCH_FIELD: encode_ticks(ticks)}))

    assert not isinstance(batch, Exception)
    assert batch.rows[0] == (AT_NS // 1000 - PG_EPOCH_US, "EURUSD", "lp", 1.1, 1.2)
    assert pg_time(batch.rows[0][0]) == AT  # nanoseconds are truncated to microseconds
    assert (batch.earliest, batch.latest) == (batch.rows[1][0], batch.rows[0][0])


@pytest.mark.parametrize(
    "fields",
    [{TICK_BATCH_FIELD: b"\xc1"}, {b"x": encode_ticks([])}, {TICK_BATCH_FIELD: b"\x91\x01"}],
)
def test_an_unreadable_entry_is_reported_not_raised(fields: dict[bytes, bytes]) -> None:
    assert isinstance(rows_of(Entry(b"1-0", fields)), Exception)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ((0, "EURUSD", "lp", math.nan, 1.0), "positive and finite"),
        ((0, "EURUSD", "lp", 1.0, math.inf), "positive and finite"),
        ((0, "EURUSD", "lp", 0.0, 1.0), "positive and finite"),
        ((0, "EURUSD", "lp", 1.0, -1.0), "positive and finite"),
        ((0, "", "lp", 1.0, 1.0), "non-empty"),
        ((0, "EUR\x00USD", "lp", 1.0, 1.0), "non-empty"),
    ],
)
def test_row_problems_name_the_reason(
    row: tuple[int, str, str, float, float], problem: str
) -> None:
    found = row_problem(row)
    assert found is not None
    assert problem in found


def test_a_good_row_has_no_problem() -> None:
    assert row_problem((0, "EURUSD", "lp-alpha", 1.1, 1.1002)) is None
