"""Commission plans to the cent: tiers by the month's volume and when the month turns, the
turnover rate, a symbol's own plan before the group default, and the margin-call / stop-out
comparison of a group (tests written against the mutants mutmut left alive in
execution/commission.py and groups.py, see docs/testing.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from execution import contracts as c
from execution.commission import ChargeOn, CommissionMode, CommissionPlan
from execution.groups import AccountGroup, LevelMode
from execution.samples import retail_group
from execution.testkit import Desk, of_type, sample_core

D = Decimal


def desk_with(commissions: dict[str, CommissionPlan], when: datetime | None = None) -> Desk:
    group = retail_group("g", markups={}, commissions=commissions, leverage=100)
    desk = Desk(sample_core(groups=[group]))
    if when is not None:
        desk.at(when)
    desk.core.add_account(1, "g", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("USDJPY", "150.000", "150.010")
    return desk


def commission_of_a_buy(desk: Desk, lots: str, symbol: str = "EURUSD") -> Decimal:
    deals = of_type(desk.place(1, symbol, "buy", lots), c.Deal)
    assert len(deals) == 1
    return deals[0].commission


def test_a_tier_below_one_lot_starts_after_the_first_deal() -> None:
    plan = CommissionPlan(
        CommissionMode.PER_LOT, D("3.5"), ChargeOn.ENTRY, tiers=((D("0.5"), D(3)),)
    )
    desk = desk_with({"*": plan})
    assert commission_of_a_buy(desk, "1") == D("-3.50")  # 0 lots traded this month before it
    assert commission_of_a_buy(desk, "1") == D("-3.00")  # 1 lot traded: the 0.5 lot tier


def test_the_monthly_tier_resets_when_december_turns_into_january() -> None:
    plan = CommissionPlan(CommissionMode.PER_LOT, D("3.5"), ChargeOn.ENTRY, tiers=((D(1), D(3)),))
    desk = desk_with({"*": plan}, datetime(2026, 12, 30, 12, tzinfo=UTC))  # a Wednesday
    assert commission_of_a_buy(desk, "1") == D("-3.50")
    desk.advance(3_600)
    desk.quote("EURUSD", "1.10000", "1.10002")
    assert commission_of_a_buy(desk, "1") == D("-3.00")  # December's volume counts
    desk.at(datetime(2027, 1, 4, 12, tzinfo=UTC))  # Monday: a new month, from zero lots
    desk.quote("EURUSD", "1.10000", "1.10002")
    assert commission_of_a_buy(desk, "1") == D("-3.50")
    assert commission_of_a_buy(desk, "1") == D("-3.00")


def test_a_turnover_commission_with_a_rate_that_is_not_one_over_n() -> None:
    desk = desk_with({"*": CommissionPlan(CommissionMode.TURNOVER, D("0.003"), ChargeOn.ENTRY)})
    # 0.003 % of 1 x 100,000 x 1.10002 USD = 110,002 x 0.00003 = 3.30006 -> 3.30
    assert commission_of_a_buy(desk, "1") == D("-3.30")


def test_a_deal_of_the_smallest_volume_is_charged() -> None:
    per_deal = CommissionPlan(CommissionMode.PER_DEAL, D(5), ChargeOn.ENTRY)
    # one volume unit (0.0001 lot) entering, in cents
    assert per_deal.charge(1, 0, 100, lambda units: Fraction(units)) == -500
    assert per_deal.charge(0, 1, 100, lambda units: Fraction(units)) == 0  # exits are free


def test_a_symbols_own_plan_comes_before_the_groups_default() -> None:
    desk = desk_with(
        {
            "EURUSD": CommissionPlan(CommissionMode.PER_DEAL, D(1), ChargeOn.ENTRY),
            "*": CommissionPlan(CommissionMode.PER_DEAL, D(5), ChargeOn.ENTRY),
        }
    )
    assert commission_of_a_buy(desk, "1") == D("-1.00")
    assert commission_of_a_buy(desk, "1", "USDJPY") == D("-5.00")


def test_levels_with_a_fraction_compare_exactly() -> None:
    money = AccountGroup("m", level_mode=LevelMode.MONEY, stop_out_level=D("100.5"))
    # equity in cents against 100.50 USD
    assert money.below(money.stop_ratio, 10_049, 0)
    assert not money.below(money.stop_ratio, 10_050, 0)
    assert not money.below(money.stop_ratio, 20_000, 0)
    percent = AccountGroup("p", stop_out_level=D("50.5"))
    assert percent.below(percent.stop_ratio, 50, 100)  # 50 % < 50.5 %
    assert not percent.below(percent.stop_ratio, 60, 100)  # 60 %
    assert not percent.below(percent.stop_ratio, 101, 200)  # exactly 50.5 %
    # a margin of one cent is margin: no equity against it is below any level
    assert percent.below(percent.stop_ratio, 0, 1)
    assert not percent.below(percent.stop_ratio, 0, 0)  # no margin, no level
