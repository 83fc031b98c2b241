"""Netting vs hedging: add, reduce, close, reverse, close-by; P/L and commission to balance."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from execution import contracts as c
from execution.commission import ChargeOn, CommissionMode, CommissionPlan
from execution.core import Core
from execution.groups import Accounting
from execution.samples import retail_group
from execution.testkit import Desk, accepted, of_type, rejected, sample_core

D = Decimal


def desk_with(accounting: Accounting, **group: object) -> Desk:
    settings: dict[str, object] = {"accounting": accounting, "markups": {}, "commissions": {}}
    settings.update(group)
    desk = Desk(sample_core(groups=[retail_group("g", **settings)]))
    desk.core.add_account(1, "g", balance=D(10_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def test_netting_adds_reduces_closes_and_reverses_one_position() -> None:
    desk = desk_with(Accounting.NETTING)
    first = accepted(desk.place(1, "EURUSD", "buy", "1"))  # at ask 1.10002
    desk.quote("EURUSD", "1.10100", "1.10102")
    added = desk.place(1, "EURUSD", "buy", "1")  # at 1.10102
    assert accepted(added).position_id == first.position_id
    position = of_type(added, c.PositionUpdate)[-1]
    assert (position.volume, position.open_price) == (D(2), D("1.10052"))
    assert of_type(added, c.Deal)[0].entry is c.DealEntry.IN

    reduced = desk.place(1, "EURUSD", "sell", "0.5")  # at bid 1.10100
    deal = of_type(reduced, c.Deal)[0]
    # (1.10100 - 1.10052) x 0.5 x 100,000 = 24.00 USD
    assert (deal.entry, deal.profit) == (c.DealEntry.OUT, D("24.00"))
    assert of_type(reduced, c.PositionUpdate)[-1].volume == D("1.5")

    closed = desk.place(1, "EURUSD", "sell", "1.5")
    deal = of_type(closed, c.Deal)[0]
    assert (deal.entry, deal.profit) == (c.DealEntry.OUT, D("72.00"))  # 0.00048 x 150,000
    assert of_type(closed, c.PositionUpdate)[-1].volume == 0
    assert desk.core.ctx.accounts[1].positions == {}
    assert desk.core.ctx.accounts[1].balance == 1_000_000 + 2_400 + 7_200


def test_netting_reversal_is_one_inout_deal_keeping_the_position_id() -> None:
    desk = desk_with(Accounting.NETTING)
    opened = accepted(desk.place(1, "EURUSD", "buy", "1"))
    desk.quote("EURUSD", "1.10050", "1.10052")
    reversal = desk.place(1, "EURUSD", "sell", "3")  # at bid 1.10050
    deal = of_type(reversal, c.Deal)[0]
    assert deal.entry is c.DealEntry.INOUT
    assert deal.volume == 3
    assert deal.profit == D("48.00")  # (1.10050 - 1.10002) x 100,000 on the closed lot
    position = of_type(reversal, c.PositionUpdate)[-1]
    assert (position.position_id, position.side, position.volume) == (
        opened.position_id,
        c.Side.SELL,
        D(2),
    )
    assert position.open_price == D("1.10050")


def test_hedging_keeps_opposite_positions_and_closes_the_named_one() -> None:
    desk = desk_with(Accounting.HEDGING)
    buy = accepted(desk.place(1, "EURUSD", "buy", "1"))
    sell = accepted(desk.place(1, "EURUSD", "sell", "1"))
    assert buy.position_id != sell.position_id
    assert len(desk.core.ctx.accounts[1].positions) == 2

    desk.quote("EURUSD", "1.10100", "1.10102")
    partial = desk.close(1, buy.position_id or 0, "0.4")
    deal = of_type(partial, c.Deal)[0]
    assert (deal.entry, deal.position_id, deal.volume) == (
        c.DealEntry.OUT,
        buy.position_id,
        D("0.4"),
    )
    assert deal.profit == D("39.20")  # (1.10100 - 1.10002) x 40,000
    assert of_type(partial, c.PositionUpdate)[-1].volume == D("0.6")


def test_close_by_nets_two_opposite_positions_at_the_second_open_price() -> None:
    desk = desk_with(Accounting.HEDGING)
    buy = accepted(desk.place(1, "EURUSD", "buy", "1"))  # 1.10002
    desk.quote("EURUSD", "1.10200", "1.10202")
    sell = accepted(desk.place(1, "EURUSD", "sell", "0.5"))  # 1.10200
    outcome = desk.send(
        c.CloseBy(
            request_id="cb", account_id=1, position_id=buy.position_id or 0,
            opposite_position_id=sell.position_id or 0,
        )
    )  # fmt: skip
    assert len(accepted(outcome).deal_ids) == 2
    by = of_type(outcome, c.Deal)
    assert [d.entry for d in by] == [c.DealEntry.OUT_BY, c.DealEntry.OUT_BY]
    # the open-price difference on the overlap: (1.10200 - 1.10002) x 50,000 = 99.00
    assert [d.profit for d in by] == [D("99.00"), D("0.00")]
    account = desk.core.ctx.accounts[1]
    assert [p.units for p in account.positions.values()] == [5_000]
    assert account.balance == 1_000_000 + 9_900


def test_close_by_is_for_hedging_accounts_with_opposite_positions() -> None:
    desk = desk_with(Accounting.HEDGING)
    one = accepted(desk.place(1, "EURUSD", "buy", "1")).position_id or 0
    two = accepted(desk.place(1, "EURUSD", "buy", "1")).position_id or 0
    same_side = c.CloseBy(request_id="x", account_id=1, position_id=one, opposite_position_id=two)
    assert rejected(desk.send(same_side)) is c.RejectCode.UNKNOWN_POSITION
    netting = desk_with(Accounting.NETTING)
    position = accepted(netting.place(1, "EURUSD", "buy", "1")).position_id or 0
    close_by = c.CloseBy(request_id="y", account_id=1, position_id=position, opposite_position_id=9)
    assert rejected(netting.send(close_by)) is c.RejectCode.HEDGING_ONLY


def test_commission_on_entry_exit_or_both() -> None:
    per_lot = CommissionPlan(CommissionMode.PER_LOT, D("3.5"), ChargeOn.BOTH)
    desk = desk_with(Accounting.HEDGING, commissions={"*": per_lot})
    opened = desk.place(1, "EURUSD", "buy", "2")
    assert of_type(opened, c.Deal)[0].commission == D("-7.00")  # 2 lots x 3.50
    closed = desk.close(1, accepted(opened).position_id or 0)
    assert of_type(closed, c.Deal)[0].commission == D("-7.00")

    exit_only = CommissionPlan(CommissionMode.PER_DEAL, D(5), ChargeOn.EXIT)
    desk = desk_with(Accounting.HEDGING, commissions={"*": exit_only})
    opened = desk.place(1, "EURUSD", "buy", "2")
    assert of_type(opened, c.Deal)[0].commission == 0
    closed = desk.close(1, accepted(opened).position_id or 0)
    assert of_type(closed, c.Deal)[0].commission == D(-5)

    turnover = CommissionPlan(CommissionMode.TURNOVER, D("0.002"), ChargeOn.ENTRY)
    desk = desk_with(Accounting.HEDGING, commissions={"*": turnover})
    opened = desk.place(1, "EURUSD", "buy", "1")
    # 0.002 % of 1 x 100,000 x 1.10002 USD = 110,002 x 0.00002 = 2.20004 -> 2.20
    assert of_type(opened, c.Deal)[0].commission == D("-2.20")


def test_realised_profit_converts_from_the_profit_currency() -> None:
    desk = desk_with(Accounting.HEDGING)
    desk.quote("USDJPY", "150.000", "150.010")
    opened = accepted(desk.place(1, "USDJPY", "buy", "1"))  # at 150.010
    desk.quote("USDJPY", "151.010", "151.020")
    closed = desk.close(1, opened.position_id or 0)
    # 1.000 JPY x 100,000 = 100,000 JPY; / USDJPY ask 151.020 = 662.16 USD
    assert of_type(closed, c.Deal)[0].profit == D("662.16")


def test_close_by_charges_the_plans_exit_commission_on_both_deals() -> None:
    plan = CommissionPlan(CommissionMode.PER_LOT, D("3.5"), ChargeOn.BOTH)
    desk = desk_with(Accounting.HEDGING, commissions={"*": plan})
    buy = accepted(desk.place(1, "EURUSD", "buy", "1"))  # 3.50 on entry
    desk.quote("EURUSD", "1.10200", "1.10202")
    sell = accepted(desk.place(1, "EURUSD", "sell", "0.5"))  # 1.75 on entry
    outcome = desk.send(
        c.CloseBy(
            request_id="cb", account_id=1, position_id=buy.position_id or 0,
            opposite_position_id=sell.position_id or 0,
        )
    )  # fmt: skip
    # each out-by deal exits 0.5 lot: 0.5 x 3.50 = 1.75 each
    assert [d.commission for d in of_type(outcome, c.Deal)] == [D("-1.75"), D("-1.75")]
    # 10,000 - 3.50 - 1.75 (entries) + 99.00 (the overlap's P/L) - 2 x 1.75 (exits)
    assert desk.core.ctx.accounts[1].balance == 1_000_000 - 350 - 175 + 9_900 - 350
    entry_only = CommissionPlan(CommissionMode.PER_LOT, D("3.5"), ChargeOn.ENTRY)
    desk = desk_with(Accounting.HEDGING, commissions={"*": entry_only})
    one = accepted(desk.place(1, "EURUSD", "buy", "1")).position_id or 0
    two = accepted(desk.place(1, "EURUSD", "sell", "1")).position_id or 0
    by = desk.send(
        c.CloseBy(request_id="e", account_id=1, position_id=one, opposite_position_id=two)
    )
    assert [d.commission for d in of_type(by, c.Deal)] == [D("0.00"), D("0.00")]


def test_equity_before_closing_equals_the_balance_after_closing_at_the_same_prices() -> None:
    """Hedging, several positions in one symbol whose profits each have a half cent: the
    floating P/L is rounded per position, as each closing deal will round it."""
    desk = desk_with(Accounting.HEDGING)
    desk.core.ctx.accounts[1].balance = 1_000_000
    opened = []
    # 0.01 lot = 1,000 EUR: each point of EURUSD is 0.01 USD, so open prices 1 point apart
    # and a half-point-free close price give exact cents; USDJPY gives fractions of a cent
    desk.quote("USDJPY", "150.000", "150.001")
    for ask in ("150.001", "150.004", "150.007"):
        desk.quote("USDJPY", "149.999", ask)
        opened.append(accepted(desk.place(1, "USDJPY", "buy", "0.01")).position_id or 0)
    desk.quote("USDJPY", "150.012", "150.013")
    # each buy of 1,000 USD closes at the bid 150.012: (150.012 - open) x 1,000 JPY / 150.013
    # 0.011 x 1000 / 150.013 = 0.07333 -> 0.07; 0.008 -> 0.05333 -> 0.05; 0.005 -> 0.0333 -> 0.03
    # (the profit converts at the ask of USDJPY for a buy) : 0.15 in all, where one rounding
    # of the sum (0.024 x 1000 / 150.013 = 0.15998) would say 0.16
    state = desk.core.account_state(1, desk.now)
    assert state.floating_profit == D("0.15")
    equity = state.equity
    for position in opened:
        accepted(desk.close(1, position))
    account = desk.core.ctx.accounts[1]
    assert account.positions == {}
    assert D(account.balance) / 100 == equity == D("10000.15")


def test_commission_tiers_follow_the_accounts_volume_this_month() -> None:
    # 3.50 a lot, 3.00 from 4 lots traded this month, 2.50 from 10
    tiers = ((D(4), D(3)), (D(10), D("2.5")))
    plan = CommissionPlan(CommissionMode.PER_LOT, D("3.5"), ChargeOn.BOTH, tiers)
    desk = desk_with(Accounting.HEDGING, commissions={"*": plan})
    desk.at(datetime(2026, 3, 30, 12, tzinfo=UTC))  # a Monday near the month's end
    desk.quote("EURUSD", "1.10000", "1.10002")
    charged = []
    for _ in range(4):  # 2 lots in, 2 out: 4 lots, then 8
        opened = desk.place(1, "EURUSD", "buy", "2")
        charged.append(of_type(opened, c.Deal)[0].commission)
        closed = desk.close(1, accepted(opened).position_id or 0)
        charged.append(of_type(closed, c.Deal)[0].commission)
    # volume before each deal: 0, 2 (3.50 each); 4, 6 (3.00); 8 (3.00), 10, 12, 14 (2.50)
    assert charged == [
        D("-7.00"), D("-7.00"), D("-6.00"), D("-6.00"), D("-6.00"), D("-5.00"), D("-5.00"),
        D("-5.00"),
    ]  # fmt: skip
    # a new calendar month (UTC) starts from the base tier again
    desk.at(datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))
    desk.quote("EURUSD", "1.10000", "1.10002")
    assert of_type(desk.place(1, "EURUSD", "buy", "2"), c.Deal)[0].commission == D("-7.00")


def test_the_months_volume_survives_a_rebuild() -> None:
    plan = CommissionPlan(CommissionMode.PER_LOT, D("3.5"), ChargeOn.BOTH, ((D(2), D(3)),))
    desk = desk_with(Accounting.HEDGING, commissions={"*": plan})
    accepted(desk.place(1, "EURUSD", "buy", "2"))
    rebuilt = Desk(Core.from_snapshot(desk.core.config, desk.core.snapshot()), desk.now)
    rebuilt._request = desk._request  # request ids continue
    rebuilt.quote("EURUSD", "1.10000", "1.10002")
    # 2 lots traded this month before the rebuild: the next deal pays the 3.00 tier
    assert of_type(rebuilt.place(1, "EURUSD", "buy", "0.5"), c.Deal)[0].commission == D("-1.50")
