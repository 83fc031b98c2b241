"""The trade date of each timestamp in a column, as :mod:`pipelines.partitions` defines it.

:func:`pipelines.partitions.trading_day` maps one partition key to its window; a snapshot
needs the inverse for millions of rows, so the same rule is applied column-wise in Arrow: on
the New York wall clock, 17:00 starts the next day's trading, and a Saturday or Sunday belongs
to Monday. The unit tests hold this to ``trading_day`` across DST changes.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.partitions import NEW_YORK

_TO_MIDNIGHT = pa.scalar(timedelta(hours=24 - 17), pa.duration("us"))
_JUST_BEFORE = pa.scalar(timedelta(microseconds=1), pa.duration("us"))


def trade_dates(times: pa.Array | pa.ChunkedArray, *, closes: bool = False) -> pa.Array:
    """The trade date (date32) of each UTC timestamp; with ``closes``, the timestamps are
    cuts and each gets the day it closes (the window it ends, not the one it starts)."""
    times = pc.cast(times, pa.timestamp("us", tz="UTC"))
    if closes:
        times = pc.subtract(times, _JUST_BEFORE)
    local = pc.local_timestamp(pc.cast(times, pa.timestamp("us", tz=NEW_YORK.key)))
    day = pc.cast(pc.add(local, _TO_MIDNIGHT), pa.date32())
    weekday = pc.day_of_week(day)  # Monday 0 ... Sunday 6
    shift = pc.if_else(pc.equal(weekday, 5), 2, pc.if_else(pc.equal(weekday, 6), 1, 0))
    days = pc.add(pc.cast(day, pa.int32()), pc.cast(shift, pa.int32()))
    result = pc.cast(days, pa.date32())
    return result.combine_chunks() if isinstance(result, pa.ChunkedArray) else result
