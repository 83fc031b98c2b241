"""Account valuation: floating P/L, MT5 margin modes, hedged margin, currency conversion."""

from __future__ import annotations

from decimal import Decimal as D

from api.margin import (
    AccountTerms,
    InstrumentSpec,
    OpenPosition,
    Price,
    conversion,
    position_margin,
    value_account,
)
from execution.contracts import Side


def _spec(symbol: str = "EURUSD", mode: str = "FOREX", **changes: object) -> InstrumentSpec:
    fields: dict[str, object] = {
        "symbol": symbol,
        "contract_size": D(100_000),
        "margin_calc_mode": mode,
        "margin_rate_long": D(1),
        "margin_rate_short": D(1),
        "profit_currency": "USD",
        "margin_currency": "EUR",
        "tick_size": D("0.00001"),
        "tick_value": D(1),
        "retail_max_leverage": 30,
        "hedged_margin_mode": "rate",
        "hedged_margin_rate": D("0.5"),
    }
    fields.update(changes)
    return InstrumentSpec(**fields)  # type: ignore[arg-type]


PRICES = {"EURUSD": Price(D("1.10000"), D("1.10020")), "USDJPY": Price(D("150.00"), D("150.02"))}
USD = AccountTerms("USD", D("10000.00"), D("500.00"), leverage=100, retail=False)


def test_a_buy_is_valued_at_the_bid_and_margined_at_the_ask_in_the_deposit_currency() -> None:
    position = OpenPosition("EURUSD", Side.BUY, D("1"), D("1.09000"), swap=D("-2.50"))
    valued = value_account(USD, [position], {"EURUSD": _spec()}, PRICES.get)
    # (1.10000 - 1.09000) x 100,000 x 1 lot = 1,000 USD, less the swap.
    assert valued.floating_profit == D("997.50")
    assert valued.equity == D("11497.50")
    # 100,000 EUR / 100 = 1,000 EUR at EURUSD bid 1.10000 = 1,100 USD.
    assert valued.margin == D("1100.00")
    assert valued.free_margin == D("10397.50")
    assert valued.margin_level == D("1045.23")


def test_retail_accounts_are_capped_at_the_instruments_leverage() -> None:
    retail = AccountTerms("USD", D(10_000), D(0), leverage=100, retail=True)
    position = OpenPosition("EURUSD", Side.SELL, D("1"), D("1.10020"), swap=D(0))
    valued = value_account(retail, [position], {"EURUSD": _spec()}, PRICES.get)
    assert valued.floating_profit == D("0.00")  # a sell is valued at the ask
    assert valued.margin == D("3666.67")  # 100,000 / 30 EUR x 1.1


def test_hedged_legs_share_margin_at_the_hedged_rate() -> None:
    legs = [
        OpenPosition("EURUSD", Side.BUY, D("1"), D("1.10020"), D(0)),
        OpenPosition("EURUSD", Side.SELL, D("1"), D("1.10000"), D(0)),
    ]
    valued = value_account(USD, legs, {"EURUSD": _spec()}, PRICES.get)
    assert valued.margin == D("1100.00")  # two legs of 1,100 at 50%
    larger = value_account(
        USD, legs, {"EURUSD": _spec(hedged_margin_mode="larger_leg")}, PRICES.get
    )
    assert larger.margin == D("1100.00")
    full = value_account(USD, legs, {"EURUSD": _spec(hedged_margin_mode="full")}, PRICES.get)
    assert full.margin == D("2200.00")


def test_no_margin_means_no_margin_level_and_unpriced_symbols_are_named() -> None:
    valued = value_account(USD, [], {}, PRICES.get)
    assert valued.margin_level is None
    assert valued.equity == D("10500.00")
    orphan = OpenPosition("XAUUSD", Side.BUY, D(1), D(2000), D(0))
    missing = value_account(USD, [orphan], {"XAUUSD": _spec("XAUUSD")}, PRICES.get)
    assert missing.unpriced_symbols == ("XAUUSD",)
    assert missing.profits == (None,)


def test_cfd_modes_use_the_market_price() -> None:
    price = Price(D("5000.0"), D("5000.5"))
    cfd = _spec("US500", "CFD", contract_size=D(1), margin_rate_long=D("0.05"))
    assert position_margin(Side.BUY, D(2), cfd, price, 20) == D("500.05")
    lev = _spec("US500", "CFDLEVERAGE", contract_size=D(1))
    assert position_margin(Side.SELL, D(2), lev, price, 20) == D("500.00")
    index = _spec(
        "US500", "CFDINDEX", contract_size=D(1), tick_size=D("0.25"), tick_value=D("12.5")
    )
    assert position_margin(Side.SELL, D(1), index, price, 20) == D(5000) * 50


def test_conversion_uses_the_direct_or_the_inverse_pair() -> None:
    assert conversion("USD", "USD", PRICES.get) == 1
    assert conversion("EUR", "USD", PRICES.get) == D("1.10000")
    assert conversion("JPY", "USD", PRICES.get) == D(1) / D("150.02")
    assert conversion("CHF", "USD", PRICES.get) is None
