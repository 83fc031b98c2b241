"""Trading sessions: when an instrument's market is open, on a named business clock.

A week of windows, less holidays: whole days in the sessions' own zone (``America/New_York``
for an exchange's calendar day there) on which the market stays closed whatever the windows
say. A closed market is closed for everything that asks: orders, closes, triggered pending
orders (:mod:`execution.risk`, :mod:`execution.orders`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_NS_PER_MINUTE = 60_000_000_000


@dataclass(frozen=True, slots=True)
class Window:
    """Open from `start` to `end` (minutes after local midnight, end exclusive, up to 1440)."""

    weekday: int  # Monday = 0
    start: int
    end: int


class TradingSessions:
    """Weekly windows and holidays in a named zone; `is_open` is cached per minute, the
    windows' resolution, so the hot path looks a date up once a minute at most."""

    __slots__ = ("_cached_minute", "_cached_open", "holidays", "windows", "zone")

    def __init__(
        self, zone: str, windows: tuple[Window, ...], holidays: frozenset[date] = frozenset()
    ) -> None:
        self.zone = ZoneInfo(zone)
        self.windows = windows
        self.holidays = holidays
        self._cached_minute = -1
        self._cached_open = False

    @classmethod
    def forex(cls, holidays: frozenset[date] = frozenset()) -> TradingSessions:
        """Sunday 17:00 to Friday 17:00 New York, the usual FX week."""
        day = 24 * 60
        five_pm = 17 * 60
        windows = (
            Window(6, five_pm, day),
            *(Window(d, 0, day) for d in range(4)),
            Window(4, 0, five_pm),
        )
        return cls("America/New_York", windows, holidays)

    def is_open(self, now: int) -> bool:
        minute = now // _NS_PER_MINUTE
        if minute != self._cached_minute:
            local = datetime.fromtimestamp(minute * 60, UTC).astimezone(self.zone)
            weekday = local.weekday()
            of_day = local.hour * 60 + local.minute
            self._cached_open = local.date() not in self.holidays and any(
                w.weekday == weekday and w.start <= of_day < w.end for w in self.windows
            )
            self._cached_minute = minute
        return self._cached_open
