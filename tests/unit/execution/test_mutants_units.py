"""Prices finer than the grid and prices that are not numbers at the core's edges (tests
written against the mutants mutmut left alive in execution/units.py, see docs/testing.md)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest

from execution import contracts as c
from execution.groups import Markup
from execution.routing import RouteAction, RoutingRule
from execution.samples import retail_group
from execution.testkit import Desk, accepted, of_type, sample_core
from execution.units import price_to_points

D = Decimal


def test_an_lp_fill_finer_than_the_grid_rounds_half_up_before_the_markup() -> None:
    group = retail_group("g", markups={"*": Markup(bid=2, ask=3)}, commissions={})
    rules = [RoutingRule(RouteAction.A_BOOK)]
    desk = Desk(sample_core(groups=[group], rules=rules))
    desk.core.add_account(1, "g", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.lps["lp1"].quote("EURUSD", D("1.10000"), D("1.100005"))  # the LP fills finer
    outcome = desk.place(1, "EURUSD", "buy", "1")
    accepted(outcome)
    # 1.100005 -> 1.10001 (half up; half-even would give 1.10000), + 3 points of markup
    assert [d.price for d in of_type(outcome, c.Deal)] == [D("1.10004")]


@pytest.mark.parametrize(
    ("price", "rounding", "points"),
    [
        ("1.100005", ROUND_HALF_UP, 110_001),
        ("1.100015", ROUND_HALF_UP, 110_002),
        ("1.100005", ROUND_FLOOR, 110_000),  # an LP bid rounds down, against the client
        ("1.100001", ROUND_CEILING, 110_001),  # an LP ask up
        ("NaN", ROUND_FLOOR, None),
        ("sNaN", ROUND_CEILING, None),
        ("Infinity", ROUND_CEILING, None),
        ("-Infinity", ROUND_FLOOR, None),
    ],
)
def test_an_lp_price_in_points(price: str, rounding: str, points: int | None) -> None:
    assert price_to_points(D(price), 5, rounding) == points
