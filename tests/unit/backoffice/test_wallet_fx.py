"""The conversion rule: the client's rate, what they get rounded down to the buy currency's
minor units, the brand's revenue, and the mid rate of a pair from direct, inverse and cross
prices. Every expected figure is worked out by hand in the comment beside it."""

from __future__ import annotations

from decimal import Context, localcontext
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.wallets.fx import Conversion, convert, mid_rate, symbols_for
from warehouse.reference_data import currency_digits

MARKUP = D("0.005")
PRICES = {
    "EURUSD": (D("1.0800"), D("1.0802")),  # mid 1.0801
    "USDJPY": (D("159.99"), D("160.01")),  # mid 160
    "GBPUSD": (D("1.2699"), D("1.2701")),  # mid 1.27
}


def test_a_direct_pair_at_cents() -> None:
    # rate 1.0801 * 0.995 = 1.0746995; 1000 * rate = 1074.6995 -> 1074.69 (down);
    # at the mid 1080.10, so the brand keeps 1080.10 - 1074.69 = 5.41
    assert convert(D("1000.00"), D("1.0801"), MARKUP, 2) == Conversion(
        D("1000.00"), D("1.0801"), MARKUP, D("1.0746995"), D("1074.69"), D("5.41")
    )


def test_yen_has_no_minor_unit() -> None:
    assert currency_digits("JPY") == 0
    assert currency_digits("USD") == 2
    # rate 160 * 0.995 = 159.2; 100.37 * 159.2 = 15978.904 -> 15978 yen;
    # at the mid 100.37 * 160 = 16059.2 -> 16059; revenue 16059 - 15978 = 81
    done = convert(D("100.37"), D("160"), MARKUP, currency_digits("JPY"))
    assert (done.rate, done.buy, done.revenue) == (D("159.200"), D("15978"), D("81"))
    assert format(done.buy, "f") == "15978"


def test_selling_yen_for_dollars() -> None:
    # USDJPY at 160: 1 / 160 = 0.00625 dollar per yen; rate 0.00625 * 0.995 = 0.00621875;
    # 10000 yen * rate = 62.1875 -> 62.18; at the mid 62.50; revenue 0.32
    rate = mid_rate(PRICES, "JPY", "USD")
    assert rate == D("0.00625")
    assert rate is not None
    done = convert(D("10000"), rate, MARKUP, 2)
    assert (done.rate, done.buy, done.revenue) == (D("0.00621875"), D("62.18"), D("0.32"))


def test_an_inverse_that_does_not_terminate_is_kept_at_12_decimals() -> None:
    # 1 / 150 = 0.006666666666|666... -> 0.006666666667 (the 13th decimal is 6: up)
    prices = {"USDJPY": (D("149.99"), D("150.01"))}
    rate = mid_rate(prices, "JPY", "USD")
    assert rate == D("0.006666666667")
    assert rate is not None
    # 0.006666666667 * 0.995 = 0.006633333333665 -> 0.006633333333 (down, 12 decimals);
    # 10000 * 0.006633333333 = 66.33333333 -> 66.33; at the mid 66.66666667 -> 66.66
    done = convert(D("10000"), rate, MARKUP, 2)
    assert (done.rate, done.buy, done.revenue) == (D("0.006633333333"), D("66.33"), D("0.33"))


def test_crosses_go_through_the_dollar() -> None:
    prices = {**PRICES, "EURUSD": (D("1.2499"), D("1.2501"))}  # mid 1.25
    assert mid_rate(prices, "EUR", "JPY") == D("200")  # 1.25 * 160
    assert mid_rate(prices, "JPY", "EUR") == D("0.005")  # 1 / 160 / 1.25 = 1 / 200
    assert mid_rate(prices, "GBP", "EUR") == D("1.016")  # 1.27 / 1.25
    assert mid_rate(prices, "USD", "EUR") == D("0.8")  # 1 / 1.25


def test_a_pairs_own_symbol_wins_over_a_cross() -> None:
    prices = {**PRICES, "EURUSD": (D("1.2499"), D("1.2501")), "EURJPY": (D("198"), D("200"))}
    assert mid_rate(prices, "EUR", "JPY") == D("199")  # its own mid, not 1.25 * 160 = 200
    assert mid_rate(prices, "JPY", "EUR") == D("0.005025125628")  # 1 / 199 = 0.0050251256281...


def test_no_way_from_the_prices_is_none() -> None:
    assert mid_rate({"EURUSD": PRICES["EURUSD"]}, "EUR", "JPY") is None  # no USDJPY leg
    assert mid_rate(PRICES, "EUR", "CHF") is None
    assert mid_rate(PRICES, "EUR", "EUR") is None
    assert mid_rate({"EURUSD": (D(0), D("1.08"))}, "EUR", "USD") is None  # not a price
    assert symbols_for("EUR", "JPY") == ["EURJPY", "JPYEUR", "EURUSD", "USDEUR", "USDJPY",
                                         "JPYUSD"]  # fmt: skip
    assert symbols_for("USD", "JPY") == ["USDJPY", "JPYUSD"]


def test_no_markup_is_no_revenue() -> None:
    done = convert(D("1000.00"), D("1.0801"), D(0), 2)
    assert (done.rate, done.buy, done.revenue) == (D("1.0801"), D("1080.10"), D("0.00"))


@pytest.mark.parametrize(
    ("sell", "rate", "markup"),
    [(D(0), D("1.1"), MARKUP), (D("-1"), D("1.1"), MARKUP), (D("1"), D(0), MARKUP),
     (D("1"), D("1.0000000000001"), MARKUP), (D("1"), D("1.1"), D(1)),
     (D("1"), D("1.1"), D("-0.01")), (D("NaN"), D("1.1"), MARKUP)],
)  # fmt: skip
def test_figures_no_quote_has_are_refused(sell: D, rate: D, markup: D) -> None:
    with pytest.raises(ValueError, match=r"a conversion sells|a mid rate is|a markup is"):
        convert(sell, rate, markup, 2)


@given(
    sell=st.decimals(D("0.01"), D("1e12"), places=2),
    rate=st.decimals(D("0.000001"), D("100000"), places=12),
    markup=st.decimals(D(0), D("0.099999"), places=6),
    digits=st.sampled_from([0, 2, 3]),
)
def test_the_client_and_the_brand_share_exactly_the_amount_at_the_mid(
    sell: D, rate: D, markup: D, digits: int
) -> None:
    done = convert(sell, rate, markup, digits)
    unit = D(1).scaleb(-digits)
    assert done.revenue >= 0
    assert done.rate <= rate
    with localcontext(Context(prec=80)):
        assert done.buy <= sell * done.rate < done.buy + unit
        assert done.buy + done.revenue <= sell * rate < done.buy + done.revenue + unit
