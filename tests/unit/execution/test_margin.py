"""Margin for every MT5 calculation mode, against worked examples (domain.md, Margin)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.contracts import Side
from execution.groups import AccountGroup, LevelMode
from execution.instruments import Instrument
from execution.margin import leg_margin, position_profit, value_account
from execution.rates import Converter, Quote
from execution.samples import instruments
from execution.state import Account, Position

BY_SYMBOL = {i.symbol: i for i in instruments()}
CONVERTER = Converter(BY_SYMBOL.values())
USD = AccountGroup("usd", currency="USD", leverage=100)
BOOK = {
    "EURUSD": Quote(110_000, 110_002, 0),  # 1.10000 / 1.10002
    "EURUSD.nl": Quote(110_000, 110_002, 0),
    "USDJPY": Quote(150_000, 150_010, 0),  # 150.000 / 150.010
    "XAUUSD": Quote(200_010, 200_040, 0),  # 2000.10 / 2000.40
    "AAPL": Quote(19_050, 19_055, 0),  # 190.50 / 190.55
    "US500": Quote(500_000, 500_050, 0),  # 5000.00 / 5000.50
    "GER40": Quote(180_000, 180_005, 0),  # 18000.0 / 18000.5
}


def margin(symbol: str, buy_lots: str, sell_lots: str = "0", group: AccountGroup = USD) -> int:
    instrument = BY_SYMBOL[symbol]
    buy = int(Decimal(buy_lots) * 10_000)
    sell = int(Decimal(sell_lots) * 10_000)
    result = leg_margin(instrument, group, buy, sell, BOOK[symbol], BOOK, CONVERTER)
    assert result is not None
    return result


def test_forex_margin_divides_by_leverage_and_converts_at_the_ask() -> None:
    # 1 lot x 100,000 EUR / 100 leverage x rate 1 = 1,000 EUR; EUR->USD at ask 1.10002
    # = 1,100.02 USD
    assert margin("EURUSD", "1") == 110_002


def test_forex_sell_converts_at_the_bid() -> None:
    # 1,000 EUR x bid 1.10000 = 1,100.00 USD
    assert margin("EURUSD", "0", "1") == 110_000


def test_forex_in_the_deposit_currency_needs_no_conversion() -> None:
    # USDJPY margin currency USD: 0.5 x 100,000 / 100 = 500.00 USD
    assert margin("USDJPY", "0.5") == 50_000


def test_forex_no_leverage_ignores_leverage() -> None:
    # 0.1 lot x 100,000 x rate 1 = 10,000 EUR x 1.10002 = 11,000.20 USD
    assert margin("EURUSD.nl", "0.1") == 1_100_020


def test_cfd_uses_the_market_price_and_margin_rate() -> None:
    # 10 lots x contract 1 x ask 190.55 x rate 0.2 = 381.10 USD (leverage not applied)
    assert margin("AAPL", "10") == 38_110


def test_cfd_leverage_divides_by_the_group_leverage() -> None:
    # sell 0.5 x 100 oz x bid 2000.10 / 100 = 1,000.05 USD
    assert margin("XAUUSD", "0", "0.5") == 100_005


def test_cfd_index_uses_tick_value_over_tick_size() -> None:
    # 2 lots x 1 x ask 5000.50 x (12.5 / 0.25) x rate 0.05 = 10,001 x 2.5 = 25,002.50 USD
    assert margin("US500", "2") == 2_500_250


def test_leverage_cap_per_symbol_group_and_conversion_from_euro() -> None:
    capped = AccountGroup("cap", leverage=100, leverage_by_symbol_group={"index.major": 20})
    # 1 x 1 x ask 18000.5 / 20 = 900.025 EUR; x EURUSD ask 1.10002 = 990.0455005 -> 990.05 USD
    assert margin("GER40", "1", group=capped) == 99_005


def test_hedged_overlap_is_charged_at_the_hedged_rate() -> None:
    # overlap 1 lot: buy leg 1,100.02, sell leg 1,100.00; 50% of both = 1,100.01
    assert margin("EURUSD", "1", "1") == 110_001
    # buy 2 / sell 1: uncovered buy lot 1,100.02 + hedged 1,100.01 = 2,200.03
    assert margin("EURUSD", "2", "1") == 220_003


def test_hedged_larger_leg_only() -> None:
    gold = Instrument(
        "XAUUSD", 2, Decimal(100), "XAU", "USD", "USD", BY_SYMBOL["XAUUSD"].calc_mode,
        hedged_larger_leg=True,
    )  # fmt: skip
    book = {"XAUUSD": BOOK["XAUUSD"]}
    # buy 1 x 100 x 2000.40 / 100 = 2,000.40; sell 0.5 -> 1,000.05; larger leg only
    assert leg_margin(gold, USD, 10_000, 5_000, book["XAUUSD"], book, CONVERTER) == 200_040


def test_profit_in_yen_converts_to_dollars() -> None:
    # buy 1 USDJPY at 150.000 closed at bid 151.000: 1.000 x 100,000 = 100,000 JPY
    # JPY -> USD via USDJPY inverse at ask 150.010: 100,000 / 150.010 = 666.6222... -> 666.62
    profit = position_profit(
        BY_SYMBOL["USDJPY"], Side.BUY, 10_000, 150_000 * 10_000, 151_000, USD, BOOK, CONVERTER
    )
    assert profit == 66_662


def open_position(
    account: Account, pid: int, symbol: str, side: Side, lots: str, price: int
) -> None:
    units = int(Decimal(lots) * 10_000)
    account.add_position(
        Position(pid, account.id, BY_SYMBOL[symbol], side, units, price * units, 0)
    )


def test_equity_free_margin_and_margin_level() -> None:
    account = Account(1, USD, balance=1_000_000)  # 10,000.00 USD
    open_position(account, 1, "EURUSD", Side.BUY, "1", 110_502)  # bought at 1.10502
    valuation = value_account(account, BOOK, CONVERTER)
    assert valuation is not None
    # floating: (bid 1.10000 - 1.10502) x 100,000 = -502.00 -> equity 9,498.00
    assert valuation.equity == 949_800
    assert valuation.margin == 110_002
    assert valuation.free_margin == 949_800 - 110_002
    # 9,498.00 / 1,100.02 x 100 = 863.44 %
    assert valuation.level() == Decimal("863.44")


def test_margin_level_is_undefined_without_margin() -> None:
    valuation = value_account(Account(1, USD, balance=5_000), BOOK, CONVERTER)
    assert valuation is not None
    assert valuation.level() is None
    assert valuation.free_margin == 5_000


def test_what_if_margin_replaces_the_symbol_volumes() -> None:
    account = Account(1, USD, balance=1_000_000)
    open_position(account, 1, "EURUSD", Side.BUY, "1", 110_002)
    valuation = value_account(account, BOOK, CONVERTER, (BY_SYMBOL["EURUSD"], 10_000, 10_000))
    assert valuation is not None
    assert valuation.margin == 110_001  # the hedged pair


def test_missing_price_means_no_valuation() -> None:
    account = Account(1, USD, balance=1_000_000)
    open_position(account, 1, "EURUSD", Side.BUY, "1", 110_002)
    assert value_account(account, {}, CONVERTER) is None


@pytest.mark.parametrize(
    ("level_mode", "equity", "margin", "below"),
    [
        (LevelMode.PERCENT, 49_999, 100_000, True),  # 49.999 % < 50 %
        (LevelMode.PERCENT, 50_000, 100_000, False),
        (LevelMode.PERCENT, -1, 0, False),  # no margin: no level, nothing to stop out
        (LevelMode.MONEY, 4_999, 100_000, True),  # equity 49.99 < 50.00 money
        (LevelMode.MONEY, 5_000, 0, False),
    ],
)
def test_stop_out_level_comparison(
    level_mode: LevelMode, equity: int, margin: int, below: bool
) -> None:
    group = AccountGroup("g", stop_out_level=Decimal(50), level_mode=level_mode)
    assert group.below(group.stop_ratio, equity, margin) is below
