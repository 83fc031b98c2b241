"""The account state the core publishes, as the mutation run asked: every field of a valued
account, the symbols an unvalued one misses (a quote, a profit rate or a margin rate), its
last figures, the alerts, and the states published for the accounts that changed."""

from __future__ import annotations

from decimal import Decimal

from execution import contracts as c
from execution.account_state import account_state, note_valuation
from execution.core import Core
from execution.instruments import CalcMode, Instrument
from execution.margin import Valuation
from execution.records import Outcome
from execution.samples import instruments, retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.testkit import Desk, of_type, sample_core

D = Decimal
BUY, SELL = c.Side.BUY, c.Side.SELL
# its margin is in a currency no instrument converts: it can never be margined
NO_MARGIN_RATE = Instrument("XGBP", 2, D(1), "XGB", "USD", "GBP", CalcMode.CFDLEVERAGE)


def restored(balance: str, credit: str, *positions: PositionRow) -> Desk:
    group = retail_group("g", markups={}, commissions={})  # 30:1 FX, 20:1 metals
    config = sample_core(instruments=[*instruments(), NO_MARGIN_RATE], groups=[group]).config
    account = AccountRow(1, "g", D(balance), credit=D(credit))
    return Desk(Core.from_snapshot(config, Snapshot(accounts=[account], positions=[*positions])))


def test_a_valued_account_in_full() -> None:
    desk = restored(
        "10000", "500",
        PositionRow(1, 1, "EURUSD", BUY, D(1), D("1.09000"), 0, swap=D("-5.00")),
        PositionRow(2, 1, "XAUUSD", SELL, D("0.5"), D("2010.00"), 0, swap=D("1.50")),
    )  # fmt: skip
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("XAUUSD", "2000.10", "2000.40")
    # EURUSD closes at the bid: (1.10000 - 1.09000) x 100,000 = 1,000.00, swap -5.00;
    # gold closes at the ask: (2010.00 - 2000.40) x 50 oz = 480.00, swap +1.50.
    # equity 10,000 + 500 credit + 1,476.50 = 11,976.50
    # margin: 100,000 EUR / 30 x ask 1.10002 = 3,666.73; 50 oz x bid 2000.10 / 20 = 5,000.25
    # level 11,976.50 / 8,666.98 = 138.19 %
    assert desk.core.account_state(1, desk.now) == c.AccountState(
        account_id=1, currency="USD", balance=D("10000.00"), credit=D("500.00"),
        floating_profit=D("1476.50"), equity=D("11976.50"), margin=D("8666.98"),
        free_margin=D("3309.52"), margin_level=D("138.19"), valued=True, unpriced=(),
        in_margin_call=False,
        positions=(
            c.PositionValue(1, D("1.10000"), D("995.00")),
            c.PositionValue(2, D("2000.40"), D("481.50")),
        ),
        time=desk.now,
    )  # fmt: skip


def test_an_unvalued_account_names_what_it_misses_and_keeps_its_balance_figures() -> None:
    desk = restored(
        "1000", "200",
        PositionRow(1, 1, "EURUSD", BUY, D("0.1"), D("1.09000"), 0),
        PositionRow(2, 1, "USDJPY", BUY, D("0.1"), D("150.000"), 0),  # never priced
        PositionRow(3, 1, "XGBP", SELL, D(1), D("10.52"), 0),  # priced, no margin rate
    )  # fmt: skip
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("XGBP", "10.00", "10.02")
    state = desk.core.account_state(1, desk.now)
    # never valued: the balance and credit stand as equity, no margin known
    assert (state.valued, state.unpriced) == (False, ("USDJPY", "XGBP"))
    assert (state.equity, state.margin, state.free_margin, state.floating_profit) == (
        D("1200.00"), D("0.00"), D("1200.00"), D("0.00"),
    )  # fmt: skip
    assert state.margin_level is None
    # each position valued where it can be: (1.10000 - 1.09000) x 10,000 = 100.00 and
    # (10.52 - ask 10.02) x 1 = 0.50; USDJPY has no price
    assert state.positions == (
        c.PositionValue(1, D("1.10000"), D("100.00")),
        c.PositionValue(2, None, None),
        c.PositionValue(3, D("10.02"), D("0.50")),
    )


def test_an_account_valued_again_is_alerted_in_full() -> None:
    desk = restored("1000", "0", PositionRow(1, 1, "USDJPY", BUY, D("0.1"), D("150.000"), 0))
    unvalued = desk.core.publish_states(desk.now)  # restored, not priced yet
    assert of_type(unvalued, c.ValuationAlert) == [
        c.ValuationAlert(account_id=1, valued=False, unpriced=("USDJPY",), time=desk.now)
    ]
    desk.advance(1)
    outcome = desk.quote("USDJPY", "150.000", "150.010")
    assert of_type(outcome, c.ValuationAlert) == [
        c.ValuationAlert(account_id=1, valued=True, unpriced=(), time=desk.now)
    ]


def test_an_account_that_can_no_longer_be_valued_states_its_last_figures() -> None:
    desk = restored("1000", "0")
    ctx = desk.core.ctx
    account = ctx.accounts[1]
    note_valuation(ctx, Outcome(), account, Valuation(95_000, 20_000), desk.now)
    state = account_state(ctx, account, None, desk.now)
    # 950.00 / 200.00 = 475 %
    assert (state.valued, state.equity, state.margin, state.margin_level) == (
        False, D("950.00"), D("200.00"), D("475.00"),
    )  # fmt: skip


def test_equity_right_after_a_fill_counts_the_spread() -> None:
    desk = restored("10000", "0")
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.place(1, "EURUSD", "buy", "1")  # at the ask 1.10002, valued at the bid 1.10000
    state = desk.core.account_state(1, desk.now)
    assert (state.equity, state.margin) == (D("9998.00"), D("3666.73"))


def test_the_states_of_the_changed_accounts_are_published_once() -> None:
    desk = restored("10000", "0")
    desk.core.add_account(2, "g", balance=D(5_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.core.publish_states(desk.now)  # what the deposits and prices changed so far
    desk.place(2, "EURUSD", "buy", "1")
    desk.place(1, "EURUSD", "sell", "1")
    published = desk.core.publish_states(desk.now)
    assert published.events == [
        desk.core.account_state(1, desk.now),
        desk.core.account_state(2, desk.now),
    ]
    assert [s.equity for s in of_type(published, c.AccountState)] == [
        D("9998.00"), D("4998.00"),
    ]  # fmt: skip
    assert desk.core.publish_states(desk.now).events == []
