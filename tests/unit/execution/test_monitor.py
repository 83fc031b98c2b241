"""Margin call once per crossing, stop-out largest loss first, negative-balance protection."""

from __future__ import annotations

from decimal import Decimal

from execution import contracts as c
from execution.core import Core
from execution.samples import retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.testkit import Desk, accepted, of_type, sample_core

D = Decimal


def make_desk(balance: str, protected: bool = True) -> Desk:
    group = retail_group("g", markups={}, commissions={}, negative_balance_protection=protected)
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "g", balance=D(balance))
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def test_margin_call_once_per_crossing_and_stop_out_largest_loss_first() -> None:
    desk = make_desk("1000")
    small_loss = accepted(desk.place(1, "EURUSD", "buy", "0.1")).position_id  # 1.10002
    desk.quote("EURUSD", "1.10500", "1.10502")
    large_loss = accepted(desk.place(1, "EURUSD", "buy", "0.1")).position_id  # 1.10502

    # equity 1000 - 100.20 - 150.20 = 749.60; margin 0.2 x 100,000 / 30 x 1.09002 = 726.68
    assert of_type(desk.quote("EURUSD", "1.09000", "1.09002"), c.MarginCall) == []
    # equity 709.60 < margin 725.35: 97.83 %
    calls = of_type(desk.quote("EURUSD", "1.08800", "1.08802"), c.MarginCall)
    assert [(k.equity, k.margin, k.margin_level) for k in calls] == [
        (D("709.60"), D("725.35"), D("97.83"))
    ]
    assert of_type(desk.quote("EURUSD", "1.08700", "1.08702"), c.MarginCall) == []  # still under
    desk.quote("EURUSD", "1.09500", "1.09502")  # recovered
    assert len(of_type(desk.quote("EURUSD", "1.08800", "1.08802"), c.MarginCall)) == 1

    # equity 1000 - 300.20 - 350.20 = 349.60, margin 713.35: 49.01 % < 50 % stop-out
    outcome = desk.quote("EURUSD", "1.07000", "1.07002")
    stop_outs = of_type(outcome, c.StopOut)
    assert [s.position_id for s in stop_outs] == [large_loss]  # one close restores the level
    deal = of_type(outcome, c.Deal)[0]
    assert (deal.reason, deal.profit) == (c.DealReason.STOP_OUT, D("-350.20"))
    assert list(desk.core.ctx.accounts[1].positions) == [small_loss]


def test_negative_balance_is_written_off_on_protected_groups() -> None:
    desk = make_desk("500")
    accepted(desk.place(1, "EURUSD", "buy", "0.1"))
    outcome = desk.quote("EURUSD", "1.00000", "1.00002")  # a gap: -1,000.20
    changes = of_type(outcome, c.BalanceChange)
    assert [(b.kind, b.amount, b.balance) for b in changes] == [
        (c.BalanceKind.PNL, D("-1000.20"), D("-500.20")),
        (c.BalanceKind.WRITE_OFF, D("500.20"), D("0.00")),
    ]
    assert desk.core.ctx.accounts[1].balance == 0


def test_unprotected_group_keeps_the_debt() -> None:
    desk = make_desk("500", protected=False)
    accepted(desk.place(1, "EURUSD", "buy", "0.1"))
    desk.quote("EURUSD", "1.00000", "1.00002")
    assert desk.core.ctx.accounts[1].balance == -50_020


def test_monitor_reads_only_accounts_exposed_to_the_symbol() -> None:
    desk = make_desk("1000")
    desk.core.add_account(2, "g", balance=D(1000))
    desk.quote("XAUUSD", "2000.00", "2000.50")
    accepted(desk.place(1, "EURUSD", "buy", "0.1"))
    accepted(desk.place(2, "XAUUSD", "buy", "0.01"))
    exposed = desk.core.ctx.exposed
    assert exposed["EURUSD"] == {1}
    assert exposed["XAUUSD"] == {2}
    desk.core.ctx.accounts[2].balance = -10_000_000  # would stop out if it were looked at
    assert of_type(desk.quote("EURUSD", "1.09000", "1.09002"), c.StopOut) == []
    assert of_type(desk.quote("XAUUSD", "2000.10", "2000.60"), c.StopOut) != []


def test_stop_out_closes_until_the_level_recovers_in_one_evaluation() -> None:
    desk = make_desk("1000")
    first = accepted(desk.place(1, "EURUSD", "buy", "0.1")).position_id  # at 1.10002
    desk.quote("EURUSD", "1.10500", "1.10502")
    second = accepted(desk.place(1, "EURUSD", "buy", "0.1")).position_id  # at 1.10502
    desk.quote("EURUSD", "1.11000", "1.11002")
    third = accepted(desk.place(1, "EURUSD", "buy", "0.1")).position_id  # at 1.11002
    # at bid 1.08000: losses 200.20, 250.20, 300.20; equity 249.40; margin 3 x 10,000 EUR /
    # 30 x 1.08002 = 1,080.02: 23 %. Closing the worst leaves 249.40 on 720.01 (34.6 %), still
    # under 50 %; closing the next leaves 249.40 on 360.01 (69.3 %): two closes, one price.
    outcome = desk.quote("EURUSD", "1.08000", "1.08002")
    assert [s.position_id for s in of_type(outcome, c.StopOut)] == [third, second]
    assert list(desk.core.ctx.accounts[1].positions) == [first]
    assert desk.core.ctx.accounts[1].balance == 100_000 - 30_020 - 25_020


def test_the_largest_loss_counts_the_swap() -> None:
    group = retail_group("g", markups={}, commissions={})
    snapshot = Snapshot(
        accounts=[AccountRow(1, "g", D(500))],
        positions=[
            # 0.5 point of profit more, but 60 USD of swap owed: the worse of the two
            PositionRow(1, 1, "EURUSD", c.Side.BUY, D("0.1"), D("1.10000"), 0, swap=D(-60)),
            PositionRow(2, 1, "EURUSD", c.Side.BUY, D("0.1"), D("1.10500"), 0),
        ],
    )
    core = sample_core(groups=[group])
    desk = Desk(Core.from_snapshot(core.config, snapshot))
    # at bid 1.08500: results -150 - 60 = -210 and -200; equity 90, level ~12 %: both go,
    # the one with the swap first
    outcome = desk.quote("EURUSD", "1.08500", "1.08502")
    assert [s.position_id for s in of_type(outcome, c.StopOut)] == [1, 2]


def test_a_short_position_is_valued_at_the_ask() -> None:
    desk = make_desk("10000")
    position = accepted(desk.place(1, "EURUSD", "sell", "1")).position_id  # at bid 1.10000
    desk.quote("EURUSD", "1.09000", "1.09010")  # a wide spread
    state = desk.core.account_state(1, desk.now)
    # buying back costs the ask: (1.10000 - 1.09010) x 100,000 = 990.00, not 1,000.00
    assert state.positions == (c.PositionValue(position or 0, D("1.09010"), D("990.00")),)
    assert (state.floating_profit, state.equity) == (D("990.00"), D("10990.00"))


def test_no_write_off_while_positions_are_still_open() -> None:
    group = retail_group(
        "g", markups={}, commissions={}, leverage=100, leverage_by_symbol_group={},
        negative_balance_protection=True,
    )  # fmt: skip
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "g", balance=D(1000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("XAUUSD", "2000.00", "2000.50")
    gold = accepted(desk.place(1, "XAUUSD", "sell", "0.1")).position_id  # at 2000.00
    euro = accepted(desk.place(1, "EURUSD", "buy", "0.5")).position_id  # at 1.10002
    desk.quote("XAUUSD", "1500.00", "1500.50")  # gold +4,995.00
    desk.quote("EURUSD", "1.05000", "1.05002")  # euro -2,501.00
    closed = desk.close(1, euro or 0)
    # the balance is 1,000 - 2,501 = -1,501 while the gold position is still open with
    # 4,995 of profit: nothing to write off (the client owes nothing yet)
    assert [b.kind for b in of_type(closed, c.BalanceChange)] == [c.BalanceKind.PNL]
    assert desk.core.ctx.accounts[1].balance == -150_100
    desk.close(1, gold or 0)
    assert desk.core.ctx.accounts[1].balance == -150_100 + 499_500
