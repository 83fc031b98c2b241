"""Margin, profit and valuation figures that the mutation run showed unpinned: unequal buy and
sell margin rates, fractional contract sizes, tick ratios with a denominator, hedged shares
other than a half, conversion at the side's price, credit, swap, several symbols."""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import Side
from execution.groups import AccountGroup
from execution.instruments import CalcMode, Instrument
from execution.margin import Valuation, assess, leg_margin, leg_profit, position_profit
from execution.margin import value_account as value
from execution.rates import Converter, Quote
from execution.samples import instruments
from execution.state import Account, Position

D = Decimal
BY_SYMBOL = {i.symbol: i for i in instruments()}
CONVERTER = Converter(BY_SYMBOL.values())
USD = AccountGroup("usd", currency="USD", leverage=100)
# a CFD on half a unit, 30 % margin on buys, 40 % on sells, 30 % of a hedged pair charged
HALF = Instrument(
    "HALF", 2, D("0.5"), "HLF", "USD", "USD", CalcMode.CFD, margin_rate_buy=D("0.3"),
    margin_rate_sell=D("0.4"), hedged_margin=D("0.3"),
)  # fmt: skip
# an index whose tick of 0.30 is worth 1 USD: a ratio with a denominator
THIRDS = Instrument(
    "THIRDS", 2, D(1), "THR", "USD", "USD", CalcMode.CFDINDEX, tick_size=D("0.3"),
    tick_value=D(1),
)  # fmt: skip
HALF_QUOTE = Quote(10_000, 10_020, 0)  # 100.00 / 100.20
BOOK = {
    "EURUSD": Quote(110_000, 110_002, 0),  # 1.10000 / 1.10002
    "USDJPY": Quote(150_000, 150_010, 0),  # 150.000 / 150.010
    "XAUUSD": Quote(200_010, 200_040, 0),  # 2000.10 / 2000.40
    "HALF": HALF_QUOTE,
    "THIRDS": Quote(300, 301, 0),  # 3.00 / 3.01
}
LOT = 10_000


def half_margin(buy: int, sell: int) -> int | None:
    return leg_margin(HALF, USD, buy, sell, HALF_QUOTE, BOOK, CONVERTER)


def test_buy_and_sell_margin_use_their_own_margin_rate_and_the_contract_fraction() -> None:
    # buy 1 lot: 0.5 x ask 100.20 x 30 % = 15.03 USD
    assert half_margin(LOT, 0) == 1_503
    # sell 1 lot: 0.5 x bid 100.00 x 40 % = 20.00 USD
    assert half_margin(0, LOT) == 2_000


def test_hedged_overlap_charges_the_instruments_share_of_both_legs() -> None:
    # overlap 1 lot: 30 % of (15.03 + 20.00) = 10.509 -> 10.51
    assert half_margin(LOT, LOT) == 1_051
    # buy 2 / sell 1: the uncovered buy lot 15.03 + the hedged pair 10.51 = 25.54
    assert half_margin(2 * LOT, LOT) == 2_554


def test_index_margin_with_a_tick_ratio_that_has_a_denominator() -> None:
    # 1 lot x ask 3.01 x (1 USD / 0.30 tick) = 10.0333... -> 10.03 USD
    assert leg_margin(THIRDS, USD, LOT, 0, BOOK["THIRDS"], BOOK, CONVERTER) == 1_003


def test_profit_of_a_fractional_contract() -> None:
    # bought 1 lot at 100.20, closing at 102.20: 2.00 x 0.5 = 1.00 USD
    profit = position_profit(HALF, Side.BUY, LOT, 10_020 * LOT, 10_220, USD, BOOK, CONVERTER)
    assert profit == 100


def test_leg_profit_converts_buys_at_the_ask_and_sells_at_the_bid_and_sums_them() -> None:
    account = Account(1, USD, balance=0)
    usdjpy = BY_SYMBOL["USDJPY"]
    account.add_position(Position(1, 1, usdjpy, Side.BUY, LOT, 149_000 * LOT, 0))
    account.add_position(Position(2, 1, usdjpy, Side.SELL, LOT, 151_000 * LOT, 0))
    leg = account.legs["USDJPY"]
    # buy: (bid 150.000 - 149.000) x 100,000 = 100,000 JPY / ask 150.010 = 666.62 USD
    # sell: (151.000 - ask 150.010) x 100,000 = 99,000 JPY / bid 150.000 = 660.00 USD
    assert leg_profit(leg, BOOK["USDJPY"], USD, BOOK, CONVERTER) == 66_662 + 66_000


def add(account: Account, pid: int, symbol: str, side: Side, units: int, price: int) -> Position:
    position = Position(pid, account.id, BY_SYMBOL[symbol], side, units, price * units, 0)
    account.add_position(position)
    return position


def test_equity_counts_credit() -> None:
    valuation = value(Account(1, USD, balance=100_000, credit=50_000), BOOK, CONVERTER)
    assert valuation is not None
    assert (valuation.equity, valuation.free_margin) == (150_000, 150_000)


def test_a_sell_position_is_charged_margin() -> None:
    account = Account(1, USD, balance=1_000_000)
    add(account, 1, "EURUSD", Side.SELL, LOT, 110_000)
    valuation = value(account, BOOK, CONVERTER)
    assert valuation is not None
    # 1,000 EUR at the bid 1.10000 = 1,100.00 USD; floating (1.10000 - ask 1.10002) = -2.00
    assert (valuation.margin, valuation.equity) == (110_000, 1_000_000 - 200)


def test_equity_adds_the_accrued_swap_and_margin_sums_the_symbols() -> None:
    account = Account(1, USD, balance=1_000_000)
    euro = add(account, 1, "EURUSD", Side.BUY, LOT, 110_002)
    add(account, 2, "XAUUSD", Side.SELL, 5_000, 200_010)
    account.accrue_swap(euro, -1_234)  # -12.34 USD
    valuation = value(account, BOOK, CONVERTER)
    assert valuation is not None
    # floating: EURUSD (1.10000 - 1.10002) x 100,000 = -2.00; gold sold at the bid, valued
    # at the ask: (2000.10 - 2000.40) x 50 oz = -15.00; swap -12.34
    assert valuation.equity == 1_000_000 - 200 - 1_500 - 1_234
    # 1,100.02 (EURUSD, ask) + 0.5 x 100 x 2000.10 / 100 = 1,000.05 (gold, bid)
    assert valuation.margin == 110_002 + 100_005


def test_what_if_on_a_symbol_not_held_adds_its_margin() -> None:
    account = Account(1, USD, balance=1_000_000)
    add(account, 1, "EURUSD", Side.BUY, LOT, 110_002)
    what_if = value(account, BOOK, CONVERTER, (BY_SYMBOL["XAUUSD"], 0, 5_000))
    assert what_if is not None
    assert what_if.margin == 110_002 + 100_005


def test_a_new_book_version_revalues_the_legs() -> None:
    account = Account(1, USD, balance=1_000_000)
    add(account, 1, "EURUSD", Side.BUY, LOT, 110_002)
    first = assess(account, BOOK, CONVERTER, None, 1)
    assert first is not None
    # profit -2.00 (bid 1.10000), margin 1,100.02 (ask)
    assert (first[0].equity, first[0].margin) == (1_000_000 - 200, 110_002)
    moved = {**BOOK, "EURUSD": Quote(111_000, 111_002, 1)}
    second = assess(account, moved, CONVERTER, None, 2)
    assert second is not None
    # bid 1.11000: +998.00; margin at ask 1.11002 = 1,110.02
    assert (second[0].equity, second[0].margin) == (1_000_000 + 99_800, 111_002)


def test_margin_level_of_the_smallest_margin() -> None:
    # 1.00 equity over 0.01 margin = 10,000 %
    assert Valuation(100, 1).level() == D("10000.00")
