"""The USD rates a day converts at: journalled ones, USD at 1 when unjournalled, and a stop
when a currency has none."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from pipelines.metrics.rates import MissingRates, as_params, resolve

CUT = datetime(2026, 3, 9, 21, tzinfo=UTC)


def test_journalled_rates_are_used_and_extra_ones_ignored() -> None:
    journalled = {"EUR": D("1.1"), "JPY": D("0.0067"), "GBP": D("1.27")}
    assert resolve(journalled, {"EUR", "JPY"}, CUT) == {"EUR": D("1.1"), "JPY": D("0.0067")}


def test_usd_is_one_without_a_row() -> None:
    assert resolve({"EUR": D("1.1")}, {"USD", "EUR"}, CUT) == {"USD": D(1), "EUR": D("1.1")}


def test_a_journalled_usd_row_is_kept() -> None:
    # The core writes 1 for USD when it writes a row at all; the journal is the authority.
    assert resolve({"USD": D(1)}, {"USD"}, CUT) == {"USD": D(1)}


def test_nothing_needed_needs_no_rates() -> None:
    assert resolve({}, set(), CUT) == {}


def test_a_missing_currency_stops_the_day_naming_each() -> None:
    with pytest.raises(MissingRates) as raised:
        resolve({"EUR": D("1.1")}, {"EUR", "JPY", "GBP", "USD"}, CUT)
    assert raised.value.currencies == ["GBP", "JPY"]
    assert str(raised.value) == "no USD rate at the cut 2026-03-09T21:00:00+00:00 for GBP, JPY"


def test_params_are_parallel_arrays() -> None:
    params = as_params({"EUR": D("1.1"), "USD": D(1)})
    assert list(zip(params["currencies"], params["rates"], strict=True)) == [
        ("EUR", D("1.1")),
        ("USD", D(1)),
    ]
