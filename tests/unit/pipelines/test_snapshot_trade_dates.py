"""The column-wise trade date agrees with pipelines.partitions' windows, DST changes included."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pyarrow as pa

from pipelines.partitions import trading_day, trading_days
from pipelines.snapshots.trade_dates import trade_dates

MICROSECOND = timedelta(microseconds=1)
KEYS = trading_days.get_partition_keys_in_range(dg.PartitionKeyRange("2026-01-02", "2026-12-30"))


def test_every_instant_of_a_window_gets_its_trade_date() -> None:
    days = [trading_day(key) for key in KEYS]
    instants = [
        at
        for day in days
        for at in (day.start, day.start + MICROSECOND, day.start + (day.end - day.start) / 2,
                   day.end - MICROSECOND)
    ]  # fmt: skip
    expected = [day.trade_date for day in days for _ in range(4)]
    got = trade_dates(pa.array(instants, pa.timestamp("us", tz="UTC"))).to_pylist()
    assert got == expected


def test_a_cut_belongs_to_the_day_it_closes() -> None:
    days = [trading_day(key) for key in KEYS]
    cuts = pa.array([day.cut for day in days], pa.timestamp("us", tz="UTC"))
    assert trade_dates(cuts, closes=True).to_pylist() == [day.trade_date for day in days]
    # the same instant read as an event starts the next day
    assert trade_dates(cuts).to_pylist()[:-1] == [day.trade_date for day in days[1:]]


def test_nulls_stay_null() -> None:
    assert trade_dates(pa.array([None], pa.timestamp("us", tz="UTC"))).to_pylist() == [None]
