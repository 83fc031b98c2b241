"""Entry ids, candle window merging and stream lag, without servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.candle_refresh import merge_windows
from ingest.consumer import StreamPosition
from ingest.entries import join_id, split_id

T = datetime(2025, 1, 1, tzinfo=UTC)
M = timedelta(minutes=1)


def test_entry_ids_split_into_numbers_that_order_like_redis() -> None:
    assert split_id(b"1700000000000-12") == (1_700_000_000_000, 12)
    assert join_id(*split_id(b"5-3")) == b"5-3"
    assert split_id(b"9-0") < split_id(b"10-0")  # as text, "10-0" < "9-0"


def test_windows_merge_when_they_overlap_or_touch() -> None:
    windows = [(T + 5 * M, T + 6 * M), (T, T + 2 * M), (T + M, T + 3 * M), (T + 3 * M, T + 4 * M)]
    assert merge_windows(windows) == [(T, T + 4 * M), (T + 5 * M, T + 6 * M)]
    assert merge_windows([]) == []


def _position(**overrides: object) -> StreamPosition:
    values: dict[str, object] = {
        "length": 10,
        "last_generated_id": b"20000-0",
        "last_delivered_id": b"20000-0",
        "pending": 0,
        "oldest_pending_id": None,
    }
    values.update(overrides)
    return StreamPosition(**values)  # type: ignore[arg-type]


def test_lag_is_zero_when_everything_is_delivered_and_acknowledged() -> None:
    assert _position().lag_seconds == 0.0


def test_lag_spans_from_the_oldest_unloaded_entry_to_the_newest() -> None:
    assert _position(last_delivered_id=b"15000-0").lag_seconds == 5.0
    assert _position(pending=2, oldest_pending_id=b"12000-1").lag_seconds == 8.0
