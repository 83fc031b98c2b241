"""The days the seeded calendars close, against the exchange's published calendar (by hand)."""

from __future__ import annotations

from datetime import date

from warehouse.holiday_calendars import calendar_days, seed_years


def test_cme_closes_its_holidays_observed_on_a_weekday() -> None:
    assert sorted(calendar_days("CME", [2027])) == [
        date(2027, 1, 1),  # New Year's Day, a Friday
        date(2027, 3, 26),  # Good Friday (Easter is 28 March)
        date(2027, 7, 5),  # Independence Day falls on a Sunday: observed on Monday
        date(2027, 11, 25),  # Thanksgiving, the fourth Thursday
        date(2027, 12, 24),  # Christmas falls on a Saturday: observed on Friday
    ]
    # unscheduled: the national day of mourning for President Carter
    assert calendar_days("CME", [2025])[date(2025, 1, 9)].startswith("National Day of Mourning")


def test_fx_closes_new_years_day_and_christmas_on_the_day_itself() -> None:
    assert calendar_days("FX", [2027]) == {
        date(2027, 1, 1): "New Year's Day",
        date(2027, 12, 25): "Christmas Day",  # a Saturday: not moved to a trading day
    }


def test_the_seed_covers_last_year_to_five_years_ahead() -> None:
    assert list(seed_years(date(2026, 12, 31))) == [2025, 2026, 2027, 2028, 2029, 2030, 2031]
