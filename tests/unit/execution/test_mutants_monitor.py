"""Margin call and stop-out as the mutation run asked: the events in full, the largest loss
judged at the price each position would close at (buys at the bid, sells at the ask), the
margin-call flag cleared on recovery, no valuation alert after a stop-out."""

from __future__ import annotations

from decimal import Decimal

from execution import contracts as c
from execution.core import Core
from execution.samples import retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.testkit import Desk, of_type, sample_core

D = Decimal
BUY, SELL = c.Side.BUY, c.Side.SELL


def restored(balance: str, *positions: PositionRow) -> Desk:
    # hedging, 30:1 on EURUSD, margin call at 100 %, stop-out at 50 %
    config = sample_core(groups=[retail_group("g", markups={}, commissions={})]).config
    snapshot = Snapshot(accounts=[AccountRow(1, "g", D(balance))], positions=list(positions))
    return Desk(Core.from_snapshot(config, snapshot))


def test_margin_call_and_stop_out_events_in_full_and_the_loss_judged_at_the_closing_side() -> None:
    # a 10-point spread: 1.10000 / 1.10010
    desk = restored(
        "1000",
        # buy 0.1 lot at 1.10200: -20.00 at the bid (it would be -19.00 at the ask)
        PositionRow(1, 1, "EURUSD", BUY, D("0.1"), D("1.10200"), 0),
        # sell 1 lot at 1.09985: -25.00 at the ask (-15.00 at the bid): the largest loss
        PositionRow(2, 1, "EURUSD", SELL, D(1), D("1.09985"), 0),
    )
    outcome = desk.quote("EURUSD", "1.10000", "1.10010")
    # equity 1,000 - 20 - 25 = 955.00. Margin: buy 0.1 = 10,000 / 30 x 1.10010 = 366.70;
    # sell 1 = 100,000 / 30 x 1.10000 = 3,666.67; the 0.1 lot overlap is charged half of
    # (366.70 + 366.67) = 366.685 -> 366.69 instead of both: 3,666.67 - 366.67 + 366.69
    # = 3,666.69. Level 955.00 / 3,666.69 = 26.045 % -> 26.05 %
    level, equity, margin = D("26.05"), D("955.00"), D("3666.69")
    assert of_type(outcome, c.MarginCall) == [
        c.MarginCall(account_id=1, margin_level=level, equity=equity, margin=margin, time=desk.now)
    ]
    assert of_type(outcome, c.StopOut) == [
        c.StopOut(
            account_id=1,
            position_id=2,
            margin_level=level,
            equity=equity,
            margin=margin,
            time=desk.now,
        )
    ]
    deal = of_type(outcome, c.Deal)[0]
    assert (deal.position_id, deal.side, deal.reason, deal.profit) == (
        2, BUY, c.DealReason.STOP_OUT, D("-25.00"),
    )  # fmt: skip
    # the rest (margin 366.70, equity 955.00) is well above the stop-out level: valued,
    # no alert
    assert of_type(outcome, c.ValuationAlert) == []
    account = desk.core.ctx.accounts[1]
    assert list(account.positions) == [1]
    assert desk.core.account_state(1, desk.now).valued
    # the next price finds about 955 / 366.70 = 260 %: the margin call is over
    desk.quote("EURUSD", "1.10001", "1.10011")
    assert desk.core.account_state(1, desk.now).in_margin_call is False


def test_the_largest_loss_at_the_closing_side_picks_the_buy() -> None:
    desk = restored(
        "1000",
        # buy 1 lot at 1.10025: -25.00 at the bid (-15.00 at the ask): the largest loss
        PositionRow(1, 1, "EURUSD", BUY, D(1), D("1.10025"), 0),
        # sell 0.1 lot at 1.09810: -20.00 at the ask (-19.00 at the bid)
        PositionRow(2, 1, "EURUSD", SELL, D("0.1"), D("1.09810"), 0),
    )
    outcome = desk.quote("EURUSD", "1.10000", "1.10010")
    assert [s.position_id for s in of_type(outcome, c.StopOut)] == [1]


def test_of_equal_losses_the_older_position_is_stopped_out_first() -> None:
    for order in ((1, 2), (2, 1)):  # however the positions were restored
        rows = [PositionRow(i, 1, "EURUSD", BUY, D("0.1"), D("1.10500"), 0) for i in order]
        desk = restored("500", *rows)
        # each loses (1.09000 - 1.10500) x 10,000 = 150.00: equity 200.00 against a margin
        # of 20,000 EUR / 30 x 1.09002 = 726.68 (27.52 %)
        outcome = desk.quote("EURUSD", "1.09000", "1.09002")
        assert of_type(outcome, c.StopOut)[0].position_id == 1
