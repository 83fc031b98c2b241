"""Keyset pages, one convention for every paged list (deals, candles): a request names a
``limit`` and the ``cursor`` of the page before (none: the first page); the answer holds at most
``limit`` items and ``next_cursor``, the position after its last item (null after the last
page). Rows added behind a page never shift the next one, as an offset would.

A cursor spells out the last item's position in the list's order — its time in microseconds
since 1970 (the warehouse's resolution), then its id where times are not unique — so every
cursor a pattern admits is a position the query can start after; empty is the first page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from brokerstack.times import EPOCH

DEAL_CURSOR_PATTERN = r"^([0-9]{1,17}-[0-9]{1,18})?$"  # <time>-<deal id>
CANDLE_CURSOR_PATTERN = r"^([0-9]{1,17})?$"  # <bucket>: one candle per bucket and source

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    cursor: str | None = None


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND


def at_micros(value: int) -> datetime:
    return EPOCH + value * _MICROSECOND
