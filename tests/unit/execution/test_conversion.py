"""Currency conversion goes through live, enabled instruments: a second instrument on the same
pair (a suffix symbol) neither blocks orders nor values margin at a stale price, and an account
that cannot be valued is flagged, alerted and blocked, never skipped."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from execution import contracts as c
from execution.core import Core, CoreConfig
from execution.instruments import CalcMode, Instrument
from execution.samples import instruments, retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.testkit import Desk, accepted, of_type, rejected

D = Decimal
CENT = D("0.01")


def suffixed(symbol: str = "EURUSD.x", enabled: bool = True) -> Instrument:
    # the same pair as EURUSD, listed before it
    return Instrument(
        symbol, 5, D(100_000), "EUR", "USD", "EUR", CalcMode.FOREX, trade_enabled=enabled
    )


def euro_desk(*extra: Instrument) -> Desk:
    group = retail_group(
        "eur", currency="EUR", markups={}, commissions={}, leverage=100,
        leverage_by_symbol_group={}, stop_out_level=D(50), margin_call_level=D(100),
    )  # fmt: skip
    core = Core(CoreConfig(instruments=[*extra, *instruments()], groups=[group]))
    desk = Desk(core)
    core.add_account(1, "eur", balance=D(1_000))
    return desk


def test_an_unquoted_suffix_symbol_on_the_pair_does_not_block_orders() -> None:
    desk = euro_desk(suffixed())
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("USDJPY", "150.000", "150.010")
    reply = accepted(desk.place(1, "USDJPY", "buy", "0.5"))
    assert reply.state is c.OrderState.FILLED
    # margin: 0.5 x 100,000 USD / 100 = 500 USD, to EUR at 1 / ask 1.10002
    expected = (D(500) / D("1.10002")).quantize(CENT, ROUND_HALF_UP)
    assert desk.core.account_state(1, desk.now).margin == expected


def test_margin_converts_at_the_live_pair_not_at_a_stale_suffix_quote() -> None:
    desk = euro_desk(suffixed())
    desk.quote("EURUSD.x", "1.50000", "1.50002")  # priced once, long ago
    desk.advance(60)  # older than any staleness limit: EURUSD.x is off quotes
    desk.timer()
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("USDJPY", "150.000", "150.010")
    accepted(desk.place(1, "USDJPY", "buy", "0.5"))
    state = desk.core.account_state(1, desk.now)
    assert state.valued
    assert state.margin == (D(500) / D("1.10002")).quantize(CENT, ROUND_HALF_UP)
    # the live pair moves: the margin follows it
    desk.quote("EURUSD", "1.20000", "1.20002")
    assert desk.core.account_state(1, desk.now).margin == (D(500) / D("1.20002")).quantize(
        CENT, ROUND_HALF_UP
    )


def test_a_disabled_instrument_never_converts() -> None:
    desk = euro_desk(suffixed("EURUSD.off", enabled=False))
    desk.quote("EURUSD.off", "1.50000", "1.50002")
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("USDJPY", "150.000", "150.010")
    accepted(desk.place(1, "USDJPY", "buy", "0.5"))
    assert desk.core.account_state(1, desk.now).margin == (D(500) / D("1.10002")).quantize(
        CENT, ROUND_HALF_UP
    )


def test_an_account_that_cannot_be_valued_is_alerted_blocked_and_recovers() -> None:
    # after a restart: a USDJPY position in a EUR account, and EUR/USD not priced yet
    group = retail_group(
        "eur", currency="EUR", markups={}, commissions={}, leverage=100,
        leverage_by_symbol_group={}, stop_out_level=D(50),
    )  # fmt: skip
    config = CoreConfig(instruments=[suffixed(), *instruments()], groups=[group])
    snapshot = Snapshot(
        accounts=[AccountRow(1, "eur", D(300))],
        positions=[PositionRow(1, 1, "USDJPY", c.Side.BUY, D(1), D("150.000"), 0)],
    )
    desk = Desk(Core.from_snapshot(config, snapshot))
    priced = desk.quote("USDJPY", "150.000", "150.010")
    alerts = of_type(priced, c.ValuationAlert)
    assert alerts == [
        c.ValuationAlert(account_id=1, valued=False, unpriced=("USDJPY",), time=desk.now)
    ]
    # once is enough: no second alert while it stays so
    assert of_type(desk.quote("USDJPY", "150.001", "150.011"), c.ValuationAlert) == []
    assert rejected(desk.place(1, "USDJPY", "buy", "0.01")) is c.RejectCode.OFF_QUOTES
    state = desk.core.account_state(1, desk.now)
    assert (state.valued, state.unpriced) == (False, ("USDJPY",))
    # the suffixed pair prices it: valued again, and the margin monitor judges it at once:
    # 1 lot = 100,000 USD needs 1,000 USD / 1.50002 = 666.66 EUR of margin; equity is about
    # 300 EUR (a loss of 0.1 yen a dollar is tiny): level ~45 % < 50 %: stopped out
    recovered = desk.quote("EURUSD.x", "1.50000", "1.50002")
    assert [a.valued for a in of_type(recovered, c.ValuationAlert)] == [True]
    assert [s.position_id for s in of_type(recovered, c.StopOut)] == [1]
    assert desk.core.ctx.accounts[1].positions == {}
