"""The pipelines' calendars: trading days and calendar months.

A trading day is the window from one weekday's 17:00 New York cut to the next one (Friday's
runs to Monday's, so a weekend belongs to Monday), across DST changes; its FX trade date is the
day the window ends. Dagster names a window by its start, so a partition key is the trade date
of the previous trading day: :func:`trading_day` is the one place that maps one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

NEW_YORK = ZoneInfo("America/New_York")
CUT_CRON = "0 17 * * 1-5"  # the swap rollover and the end of a trading day
FIRST_DAY = "2026-01-02"  # the start of the first window (its trade date: 2026-01-05)

trading_days = dg.TimeWindowPartitionsDefinition(
    cron_schedule=CUT_CRON, timezone="America/New_York", fmt="%Y-%m-%d", start=FIRST_DAY
)
months = dg.MonthlyPartitionsDefinition(start_date="2026-01-01", timezone="America/New_York")


@dataclass(frozen=True, slots=True)
class TradingDay:
    """One trading day: its FX trade date and its [start, end) window in UTC."""

    key: str
    trade_date: date
    start: datetime
    end: datetime

    @property
    def cut(self) -> datetime:
        """The cut that closes the day (statements are taken at it)."""
        return self.end


def trading_day(key: str) -> TradingDay:
    """The trading day of a partition key (the window's start date, New York)."""
    window = trading_days.time_window_for_partition_key(key)
    end = window.end.astimezone(UTC)
    return TradingDay(
        key, window.end.astimezone(NEW_YORK).date(), window.start.astimezone(UTC), end
    )


def key_for(trade_date: date) -> str:
    """The partition key of a trade date (which must be a weekday)."""
    if trade_date.weekday() >= 5:
        raise ValueError(f"{trade_date} is a weekend: no trading day ends on it")
    cut = datetime(trade_date.year, trade_date.month, trade_date.day, 17, tzinfo=NEW_YORK)
    window = trading_days.get_prev_partition_window(cut.astimezone(UTC), respect_bounds=False)
    if window is None or window.end != cut:
        raise ValueError(f"no trading day ends on {trade_date}")
    return window.start.astimezone(NEW_YORK).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month of trade dates: the trading days whose trade date falls in it."""

    key: str
    first: date
    last: date  # the month's last calendar day

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def month(key: str) -> Month:
    window = months.time_window_for_partition_key(key)
    first = window.start.date()
    last = window.end.date() - timedelta(days=1)
    return Month(key, first, last)
