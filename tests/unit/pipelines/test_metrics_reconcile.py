"""What the client metrics check reports as a difference."""

from __future__ import annotations

from decimal import Decimal as D

from pipelines.metrics.reconcile import Reconciliation, Totals

RAW = Totals(registrations=2, ftd_count=1, deposits_usd=D("1380.00"), withdrawals_usd=D(150))


def test_equal_totals_differ_in_nothing() -> None:
    same = Totals(2, 1, D("1380.00000000"), D("150.00"))
    assert Reconciliation(RAW, same, bad_net_rows=0).differences == {}


def test_each_differing_figure_is_named_with_both_sides() -> None:
    reported = Totals(3, 1, D("1381"), D(150))
    assert Reconciliation(RAW, reported, bad_net_rows=0).differences == {
        "registrations": "3 vs 2",
        "deposits_usd": "1381 vs 1380.00",
    }


def test_rows_whose_net_is_not_deposits_less_withdrawals_are_a_difference() -> None:
    assert Reconciliation(RAW, RAW, bad_net_rows=2).differences == {
        "net_deposits_usd": "2 rows are not deposits - withdrawals"
    }
