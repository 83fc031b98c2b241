"""Time at the stack's edges: integer nanoseconds since the Unix epoch (UTC) in hot paths and
messages, timezone-aware datetimes (microseconds, the warehouse's resolution) elsewhere. The
one place the two convert, so every process rounds the same way (down to the microsecond)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NS_PER_SECOND = 1_000_000_000
NS_PER_MICROSECOND = 1_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(ns: int) -> datetime:
    """ns since the epoch as an aware UTC datetime, floored to the microsecond."""
    return EPOCH + timedelta(microseconds=ns // NS_PER_MICROSECOND)


def to_ns(moment: datetime) -> int:
    """An aware datetime as ns since the epoch (exact: datetimes hold microseconds)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no instant: give it a time zone")
    return (moment - EPOCH) // timedelta(microseconds=1) * NS_PER_MICROSECOND


def seconds(ns: int) -> int:
    """Whole seconds since the epoch (for calendars that need no finer)."""
    return ns // NS_PER_SECOND
