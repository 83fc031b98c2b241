"""A small sample book: instruments of every margin mode and two groups.

Used by the demo, the benchmark and the tests; the live service loads its configuration from
the warehouse instead.
"""

from __future__ import annotations

from decimal import Decimal

from execution.commission import ChargeOn, CommissionMode, CommissionPlan
from execution.groups import AccountGroup, Accounting, Markup
from execution.instruments import CalcMode, Instrument, SwapMode
from execution.sessions import TradingSessions

D = Decimal


def instruments() -> list[Instrument]:
    fx = TradingSessions.forex()
    return [
        Instrument(
            "EURUSD", 5, D(100_000), "EUR", "USD", "EUR", CalcMode.FOREX,
            swap_mode=SwapMode.POINTS, swap_long=D("-7.5"), swap_short=D("2.1"),
            sessions=fx, symbol_group="forex.major", max_pending_distance=50_000,
        ),
        Instrument(
            "USDJPY", 3, D(100_000), "USD", "JPY", "USD", CalcMode.FOREX,
            swap_mode=SwapMode.POINTS, swap_long=D("12.0"), swap_short=D("-25.0"),
            sessions=fx, symbol_group="forex.major",
        ),
        Instrument(
            "EURUSD.nl", 5, D(100_000), "EUR", "USD", "EUR", CalcMode.FOREX_NO_LEVERAGE,
            symbol_group="forex.major",
        ),
        Instrument(
            "XAUUSD", 2, D(100), "XAU", "USD", "USD", CalcMode.CFDLEVERAGE,
            swap_mode=SwapMode.MONEY_PER_LOT, swap_long=D("-30"), swap_short=D("10"),
            triple_swap_weekday=4, symbol_group="metals",
        ),
        Instrument(
            "AAPL", 2, D(1), "AAPL", "USD", "USD", CalcMode.CFD, margin_rate_buy=D("0.2"),
            margin_rate_sell=D("0.2"), volume_min=D(1), volume_step=D(1), volume_max=D(10_000),
            swap_mode=SwapMode.INTEREST, swap_long=D("-5"), swap_short=D("-3"),
            symbol_group="equities",
        ),
        Instrument(
            "US500", 2, D(1), "US500", "USD", "USD", CalcMode.CFDINDEX, margin_rate_buy=D("0.05"),
            margin_rate_sell=D("0.05"), tick_size=D("0.25"), tick_value=D("12.5"),
            symbol_group="index.major",
        ),
        Instrument(
            "GER40", 1, D(1), "GER40", "EUR", "EUR", CalcMode.CFDLEVERAGE, volume_min=D("0.1"),
            volume_step=D("0.1"), symbol_group="index.major",
        ),
    ]  # fmt: skip


def retail_group(name: str = "retail-usd", **overrides: object) -> AccountGroup:
    """ESMA-style retail: 30:1 major FX, 20:1 gold and indices, 5:1 equities, 50% close-out,
    negative-balance protection, hedging accounts, 1 point markup each side."""
    settings: dict[str, object] = {
        "currency": "USD",
        "accounting": Accounting.HEDGING,
        "leverage": 30,
        "leverage_by_symbol_group": {"metals": 20, "index.major": 20, "equities": 5},
        "margin_call_level": D(100),
        "stop_out_level": D(50),
        "negative_balance_protection": True,
        "markups": {"*": Markup(bid=1, ask=1)},
        "commissions": {
            "*": CommissionPlan(CommissionMode.PER_LOT, D("3.5"), ChargeOn.BOTH),
        },
    }
    settings.update(overrides)
    return AccountGroup(name, **settings)  # type: ignore[arg-type]
