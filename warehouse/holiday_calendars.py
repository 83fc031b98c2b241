"""The days the seeded holiday calendars close, for a range of years; what a broker's clients
expect of each:

* ``CME`` — the holidays of CME Globex (``holidays.financial_holidays("CME")``): New Year's
  Day, Good Friday, Independence Day, Thanksgiving and Christmas (a Saturday one observed on
  the Friday before, a Sunday one on the Monday after, as the exchange does) and its
  unscheduled closures, such as a national day of mourning. Gold and the US 500 index CFD
  follow it: they are priced from CME futures and trade their hours (see the seeded sessions).
  On Independence Day and Thanksgiving Globex trades a short morning before it halts; partial
  days are not modelled, so the whole day is closed (the cautious side: no price to hedge at
  after the halt), and staff who want those mornings delete the rows. CME's early closes on
  ordinary days (Martin Luther King Day, the day after Thanksgiving, ...) are not holidays:
  those days trade the full session.
* ``FX`` — currencies close on New Year's Day and Christmas Day, on the day itself (never
  moved to a weekday): interbank liquidity is gone and brokers close rather than quote spreads
  nobody can hedge. Every other day trades, national bank holidays included: the FX market is
  global and some centre is always open.
* Crypto follows no calendar: it trades every day.

A holiday closes its whole calendar day in the time zone of the instrument's trading sessions
(New York for all of these); an evening session before it that an exchange counts as the
holiday's trading day is not closed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import holidays

YEARS_BACK = 1  # last year's days, for replays of recent trading days
YEARS_AHEAD = 5  # the seed runs at every start, so the range moves on with the clock


def _cme(years: Sequence[int]) -> dict[date, str]:
    return dict(holidays.financial_holidays("CME", years=years))


def _fx(years: Sequence[int]) -> dict[date, str]:
    return {
        day: name
        for year in years
        for day, name in (
            (date(year, 1, 1), "New Year's Day"),
            (date(year, 12, 25), "Christmas Day"),
        )
    }


CALENDARS: dict[str, Callable[[Sequence[int]], dict[date, str]]] = {"CME": _cme, "FX": _fx}


def seed_years(today: date) -> range:
    return range(today.year - YEARS_BACK, today.year + YEARS_AHEAD + 1)


def calendar_days(code: str, years: Sequence[int]) -> dict[date, str]:
    """The closed days of a seeded calendar in ``years``, each with its name."""
    return CALENDARS[code](years)
