"""Conversion rates the mutation run showed unpinned: crosses through a pivot (direct and
inverse hops), the USD pivot first, unconvertible pairs, disabled instruments, which of a
pair's instruments prices a hop."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from execution.instruments import CalcMode, Instrument
from execution.rates import Converter, Quote
from execution.samples import instruments

D = Decimal
SAMPLES = instruments()
BOOK = {
    "EURUSD": Quote(110_000, 110_002, 0),  # 1.10000 / 1.10002
    "USDJPY": Quote(150_000, 150_010, 0),  # 150.000 / 150.010
}


def pair(symbol: str, base: str, quote: str, mode: CalcMode = CalcMode.FOREX) -> Instrument:
    return Instrument(symbol, 5, D(100_000), base, quote, base, mode)


def rate(converter: Converter, book: dict[str, Quote], source: str, target: str) -> Fraction:
    found = converter.rate(book, source, target, True)
    assert found is not None
    return Fraction(*found)


def test_a_cross_through_two_direct_hops_multiplies_both_prices() -> None:
    # EUR -> USD at ask 1.10002, USD -> JPY at ask 150.010
    expected = Fraction(110_002, 100_000) * Fraction(150_010, 1_000)
    assert rate(Converter(SAMPLES), BOOK, "EUR", "JPY") == expected


def test_a_cross_through_two_inverse_hops_divides_by_both_prices() -> None:
    # JPY -> USD: 1 / 150.010; USD -> EUR: 1 / 1.10002 (buys convert at the ask)
    expected = 1 / (Fraction(150_010, 1_000) * Fraction(110_002, 100_000))
    assert rate(Converter(SAMPLES), BOOK, "JPY", "EUR") == expected


def test_the_usd_pivot_is_preferred_to_one_sorting_before_it() -> None:
    swiss = [pair("EURCHF", "EUR", "CHF"), pair("CHFJPY", "CHF", "JPY")]
    book = {**BOOK, "EURCHF": Quote(90_000, 90_002, 0), "CHFJPY": Quote(17_000_000, 17_000_100, 0)}
    expected = Fraction(110_002, 100_000) * Fraction(150_010, 1_000)  # via USD, not CHF
    assert rate(Converter([*SAMPLES, *swiss]), book, "EUR", "JPY") == expected


def test_a_currency_no_instrument_reaches_has_no_rate_and_no_symbols() -> None:
    converter = Converter(SAMPLES)
    # EUR reaches USD, but nothing quotes GBP
    assert converter.rate(BOOK, "EUR", "GBP", True) is None
    assert converter.symbols("EUR", "GBP") == ()


def test_a_disabled_instrument_never_prices_a_conversion() -> None:
    disabled = Instrument(
        "EURUSD", 5, D(100_000), "EUR", "USD", "EUR", CalcMode.FOREX, trade_enabled=False
    )
    assert Converter([disabled]).rate(BOOK, "EUR", "USD", True) is None


CANDIDATES = [
    pair("AEURUSD", "EUR", "USD", CalcMode.CFD),  # not a currency pair
    pair("#EURUSD", "EUR", "USD"),  # suffixed (sorts first by name)
    pair("EURUSD", "EUR", "USD"),  # the plain currency pair
]
CANDIDATE_BOOK = {
    "AEURUSD": Quote(130_000, 130_002, 5),
    "#EURUSD": Quote(120_000, 120_002, 5),
    "EURUSD": Quote(110_000, 110_002, 5),
}


def test_the_plain_currency_pair_prices_the_hop_when_all_are_live() -> None:
    converter = Converter(CANDIDATES, live=frozenset(CANDIDATE_BOOK))
    assert rate(converter, CANDIDATE_BOOK, "EUR", "USD") == Fraction(110_002, 100_000)


def test_of_equally_old_prices_none_live_the_preferred_instrument_prices_the_hop() -> None:
    converter = Converter(CANDIDATES, live=frozenset())
    assert rate(converter, CANDIDATE_BOOK, "EUR", "USD") == Fraction(110_002, 100_000)
    # a fresher price of another instrument wins when none is live
    fresher = {**CANDIDATE_BOOK, "#EURUSD": Quote(120_000, 120_002, 6)}
    assert rate(converter, fresher, "EUR", "USD") == Fraction(120_002, 100_000)
