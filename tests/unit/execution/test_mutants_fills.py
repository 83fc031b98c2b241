"""Fills the mutation run showed unpinned: close-by with the sell first, a partial first
position and swaps on both, close-by in a converted currency, turnover commission at the
side's rate, a netting reversal's new position, negative-balance write-off, full deal and
ledger records."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from execution import contracts as c
from execution.commission import ChargeOn, CommissionMode, CommissionPlan
from execution.core import Core
from execution.groups import Accounting
from execution.records import Outcome
from execution.samples import retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.testkit import Desk, accepted, of_type, sample_core

D = Decimal
BUY, SELL = c.Side.BUY, c.Side.SELL
OUT_BY = c.DealEntry.OUT_BY
PER_DEAL_ON_ENTRY = CommissionPlan(CommissionMode.PER_DEAL, D(5), ChargeOn.ENTRY)
TURNOVER = CommissionPlan(CommissionMode.TURNOVER, D("0.5"), ChargeOn.BOTH)  # 0.5 %


def restored(
    balance: str, *positions: PositionRow, protected: bool = False, **group: object
) -> Desk:
    settings: dict[str, object] = {
        "markups": {}, "commissions": {}, "negative_balance_protection": protected,
    }  # fmt: skip
    settings.update(group)
    config = sample_core(groups=[retail_group("g", **settings)]).config
    snapshot = Snapshot(accounts=[AccountRow(1, "g", D(balance))], positions=list(positions))
    return Desk(Core.from_snapshot(config, snapshot))


def close_by(desk: Desk, first: int, second: int) -> Outcome:
    return desk.send(
        c.CloseBy(request_id="cb", account_id=1, position_id=first, opposite_position_id=second)
    )


def deal_summary(deal: c.Deal) -> tuple[object, ...]:
    return (
        deal.position_id, deal.side, deal.entry, deal.reason, deal.volume, deal.price,
        deal.profit, deal.commission, deal.swap,
    )  # fmt: skip


def test_close_by_with_the_sell_first_and_a_partial_first_position_with_swap() -> None:
    desk = restored(
        "10000",
        PositionRow(1, 1, "EURUSD", SELL, D(1), D("1.10300"), 0, swap=D("-3.00")),
        PositionRow(2, 1, "EURUSD", BUY, D("0.4"), D("1.10000"), 0, swap=D("-0.50")),
        commissions={"*": PER_DEAL_ON_ENTRY},  # close-by exits only: no commission
    )
    outcome = close_by(desk, 1, 2)
    deals = of_type(outcome, c.Deal)
    assert accepted(outcome).deal_ids == tuple(d.deal_id for d in deals)
    assert len(set(accepted(outcome).deal_ids)) == 2
    # 0.4 lot nets at the second's open price 1.10000; the sell opened 30 points higher:
    # 0.00300 x 40,000 = 120.00 on the first. The first's swap in proportion: -3.00 x 0.4
    assert [deal_summary(d) for d in deals] == [
        (1, BUY, OUT_BY, c.DealReason.CLIENT, D("0.4"), D("1.10000"), D("120.00"), 0, D("-1.20")),
        (2, SELL, OUT_BY, c.DealReason.CLIENT, D("0.4"), D("1.10000"), 0, 0, D("-0.50")),
    ]
    updates = {u.position_id: u for u in of_type(outcome, c.PositionUpdate)}
    assert updates[2].volume == 0
    rest = updates[1]
    assert (rest.volume, rest.open_price, rest.swap) == (D("0.6"), D("1.10300"), D("-1.80"))
    account = desk.core.ctx.accounts[1]
    assert account.balance == 1_000_000 + 12_000 - 120 - 50
    # the rest closes with its own figures: bought back at ask 1.10002 (30 - 0.2 points)
    desk.quote("EURUSD", "1.10000", "1.10002")
    closed = of_type(desk.close(1, 1), c.Deal)[0]
    # (1.10300 - 1.10002) x 60,000 = 178.80; the remaining swap -1.80
    assert (closed.profit, closed.swap) == (D("178.80"), D("-1.80"))


def test_a_partial_close_by_of_an_uneven_open_value_keeps_exact_notionals() -> None:
    # 0.3 lot bought for exactly 0.330000100 (price x lots): 1.100000333... a lot
    desk = restored(
        "10000",
        PositionRow(1, 1, "EURUSD", BUY, D("0.3"), D("1.10000"), 0, open_value=D("0.330000100")),
        PositionRow(2, 1, "EURUSD", SELL, D("0.1"), D("1.10100"), 0),
    )
    outcome = close_by(desk, 1, 2)
    # a third of the open value leaves: 0.110000033 (rounded down), 0.220000067 stays
    rest = next(u for u in of_type(outcome, c.PositionUpdate) if u.position_id == 1)
    assert (rest.volume, rest.open_value) == (D("0.2"), D("0.220000067"))
    # (0.110100000 - 0.110000033) x 100,000 = 9.9967 -> 10.00
    assert [d.profit for d in of_type(outcome, c.Deal)] == [D("10.00"), 0]


def test_close_by_in_yen_converts_the_profit_and_turnover_at_each_deals_side() -> None:
    desk = restored(
        "100000",
        PositionRow(1, 1, "USDJPY", BUY, D(1), D("150.000"), 0),
        PositionRow(2, 1, "USDJPY", SELL, D("0.5"), D("151.000"), 0),
        commissions={"*": TURNOVER},
    )
    desk.quote("USDJPY", "150.500", "150.510")
    deals = of_type(close_by(desk, 1, 2), c.Deal)
    # 50,000 JPY (1.000 yen x 50,000) on the first, a buy, converted at the ask 150.510:
    # 332.203 -> 332.20. Each deal pays 0.5 % of 151.000 x 50,000 = 7,550,000 JPY: closing
    # the buy sells (bid 150.500: 250.83 USD), closing the sell buys (ask 150.510: 250.81)
    assert [(d.side, d.price, d.profit, d.commission) for d in deals] == [
        (SELL, D("151.000"), D("332.20"), D("-250.83")),
        (BUY, D("151.000"), 0, D("-250.81")),
    ]


def test_close_by_leaving_a_negative_balance_flat_is_written_off() -> None:
    desk = restored(
        "1",
        PositionRow(1, 1, "EURUSD", SELL, D("0.1"), D("1.10000"), 0),
        PositionRow(2, 1, "EURUSD", BUY, D("0.1"), D("1.10500"), 0),
        protected=True,
    )
    outcome = close_by(desk, 1, 2)
    deal_id = of_type(outcome, c.Deal)[0].deal_id
    changes = of_type(outcome, c.BalanceChange)
    # sold 50 points below the buy: -50.00 on 0.1 lot; 1.00 - 50.00 = -49.00 written off
    assert [(b.kind, b.amount, b.balance, b.deal_id, b.time) for b in changes] == [
        (c.BalanceKind.PNL, D("-50.00"), D("-49.00"), deal_id, desk.now),
        (c.BalanceKind.WRITE_OFF, D("49.00"), D("0.00"), None, desk.now),
    ]
    assert changes[0].entry_id != changes[1].entry_id


def test_a_stop_out_to_a_zero_balance_writes_nothing_off_and_a_negative_one_is() -> None:
    # 0.01 lot bought 100 points above the bid: -1.00 at the first price
    position = PositionRow(1, 1, "EURUSD", BUY, D("0.01"), D("1.10100"), 0)
    zero = restored("1", position, protected=True)
    outcome = zero.quote("EURUSD", "1.10000", "1.10002")
    assert [b.kind for b in of_type(outcome, c.BalanceChange)] == [c.BalanceKind.PNL]
    assert zero.core.ctx.accounts[1].balance == 0

    negative = restored("0.50", position, protected=True)
    outcome = negative.quote("EURUSD", "1.10000", "1.10002")
    write_off = of_type(outcome, c.BalanceChange)[-1]
    assert (write_off.kind, write_off.amount, write_off.balance, write_off.time) == (
        c.BalanceKind.WRITE_OFF, D("0.50"), D("0.00"), negative.now,
    )  # fmt: skip
    assert write_off.entry_id == of_type(outcome, c.BalanceChange)[0].entry_id + 1


def turnover_desk() -> Desk:
    plans = {"USDJPY": TURNOVER, "*": CommissionPlan(CommissionMode.PER_LOT, D("3.5"))}
    group = retail_group("g", markups={}, commissions=plans)
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "g", balance=D(100_000))
    desk.quote("USDJPY", "150.500", "150.510")
    return desk


def test_turnover_commission_converts_at_the_deals_side() -> None:
    desk = turnover_desk()
    # buy 1 lot at ask 150.510: 0.5 % of 15,051,000 JPY at the ask = 0.5 % of 100,000 USD
    bought = of_type(desk.place(1, "USDJPY", "buy", "1"), c.Deal)[0]
    assert bought.commission == D("-500.00")
    # sell 1 lot at bid 150.500: 15,050,000 JPY at the bid: 500.00 again
    sold = accepted(desk.place(1, "USDJPY", "sell", "1"))
    # buying it back at the ask 150.510: 15,051,000 JPY at the ask: 500.00;
    # the loss of 0.010 x 100,000 = 1,000 JPY converts at the bid 150.500: -6.64 USD
    closed = of_type(desk.close(1, sold.position_id or 0), c.Deal)[0]
    assert (closed.commission, closed.profit) == (D("-500.00"), D("-6.64"))


def test_a_netting_reversal_opens_the_rest_with_the_orders_stops_at_its_time() -> None:
    group = retail_group("g", accounting=Accounting.NETTING, markups={}, commissions={})
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "g", balance=D(10_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    opened = accepted(desk.place(1, "EURUSD", "buy", "1"))
    opened_at = desk.now
    desk.advance(60)
    desk.quote("EURUSD", "1.10100", "1.10102")
    reversed_ = desk.place(1, "EURUSD", "sell", "1.5", sl=D("1.10500"), tp=D("1.09500"))
    reply = accepted(reversed_)
    assert reply.position_id == opened.position_id  # the id stays, as MT5 does
    deal = of_type(reversed_, c.Deal)[0]
    # closes the long 1 lot at bid 1.10100: (1.10100 - 1.10002) x 100,000 = 98.00
    assert (deal.order_id, deal.side, deal.entry, deal.volume, deal.profit, deal.book) == (
        reply.order_id, SELL, c.DealEntry.INOUT, D("1.5"), D("98.00"), "b",
    )  # fmt: skip
    assert desk.now != opened_at
    update = of_type(reversed_, c.PositionUpdate)[-1]
    assert (
        update.account_id, update.side, update.volume, update.open_price, update.sl, update.tp,
        update.opened_at,
    ) == (1, SELL, D("0.5"), D("1.10100"), D("1.10500"), D("1.09500"), desk.now)  # fmt: skip


def test_an_opening_deal_and_its_ledger_entry_in_full() -> None:
    group = retail_group("g", markups={})  # 3.50 a lot on entry and exit
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "g", balance=D(10_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.advance(1)
    outcome = desk.place(1, "EURUSD", "buy", "2")
    reply = accepted(outcome)
    [deal] = of_type(outcome, c.Deal)
    assert deal == c.Deal(
        deal_id=reply.deal_ids[0], order_id=reply.order_id, account_id=1,
        position_id=reply.position_id or 0, symbol="EURUSD", side=BUY, entry=c.DealEntry.IN,
        reason=c.DealReason.CLIENT, volume=D(2), price=D("1.10002"), profit=D(0),
        commission=D("-7.00"), swap=D(0), book="b", time=desk.now,
    )  # fmt: skip
    [change] = of_type(outcome, c.BalanceChange)
    assert (change.kind, change.amount, change.balance, change.deal_id, change.time) == (
        c.BalanceKind.COMMISSION, D("-7.00"), D("9993.00"), deal.deal_id, desk.now,
    )  # fmt: skip
    assert isinstance(change.entry_id, int)
    assert of_type(outcome, c.PositionUpdate)[-1].time == desk.now


def tiered_desk(from_lots: str) -> Desk:
    # 5.00 a deal, 2.00 once the account traded `from_lots` lots this calendar month
    plan = CommissionPlan(
        CommissionMode.PER_DEAL, D(5), ChargeOn.ENTRY, tiers=((D(from_lots), D(2)),)
    )
    desk = Desk(sample_core(groups=[retail_group("g", markups={}, commissions={"*": plan})]))
    desk.core.add_account(1, "g", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def test_the_monthly_volume_counts_exactly_the_lots_traded() -> None:
    desk = tiered_desk("1.0001")
    desk.place(1, "EURUSD", "buy", "1")
    # 1 lot traded: one unit short of the 1.0001-lot tier
    assert of_type(desk.place(1, "EURUSD", "buy", "1"), c.Deal)[0].commission == D(-5)


def test_a_new_month_starts_at_its_first_instant() -> None:
    desk = tiered_desk("1")
    desk.place(1, "EURUSD", "buy", "1")
    assert of_type(desk.place(1, "EURUSD", "buy", "1"), c.Deal)[0].commission == D(-2)
    desk.at(datetime(2026, 4, 1, tzinfo=UTC))  # a Wednesday: the market is open
    desk.quote("EURUSD", "1.10000", "1.10002")
    assert of_type(desk.place(1, "EURUSD", "buy", "1"), c.Deal)[0].commission == D(-5)


def test_a_partial_close_of_an_uneven_open_value_keeps_exact_notionals() -> None:
    # 0.3 lot bought for exactly 0.330000100 (price x lots)
    desk = restored(
        "10000",
        PositionRow(1, 1, "EURUSD", BUY, D("0.3"), D("1.10000"), 0, open_value=D("0.330000100")),
    )
    desk.quote("EURUSD", "1.10100", "1.10102")
    outcome = desk.close(1, 1, "0.1")
    # a third leaves: 0.110000033 (rounded down), 0.220000067 stays;
    # (0.110100000 - 0.110000033) x 100,000 = 9.9967 -> 10.00
    assert [d.profit for d in of_type(outcome, c.Deal)] == [D("10.00")]
    rest = of_type(outcome, c.PositionUpdate)[-1]
    assert (rest.volume, rest.open_value) == (D("0.2"), D("0.220000067"))
