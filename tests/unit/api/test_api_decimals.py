"""The client decimal grammar: what its pattern admits is exactly the positive decimals of its
size, each read back exactly."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from api.decimals import LOTS, PRICE, DecimalGrammar


@pytest.mark.parametrize("grammar", [LOTS, PRICE])
@given(data=st.data())
def test_every_positive_decimal_of_the_size_is_admitted_and_read_exactly(
    grammar: DecimalGrammar, data: st.DataObject
) -> None:
    places = data.draw(st.integers(0, grammar.fraction_digits))
    units = data.draw(st.integers(1, 10 ** (grammar.integer_digits + places) - 1))
    value = Decimal(units).scaleb(-places)
    text = f"{value:f}"  # plain notation, no exponent
    assert grammar.parse(text) == value
    assert re.search(grammar.pattern, text) is not None  # the schema's reading (a search)


@pytest.mark.parametrize("grammar", [LOTS, PRICE])
@given(data=st.data())
def test_what_the_pattern_generates_is_in_range(
    grammar: DecimalGrammar, data: st.DataObject
) -> None:
    text = data.draw(st.from_regex(grammar.pattern, fullmatch=True))
    value = grammar.parse(text)
    assert 0 < value < 10**grammar.integer_digits
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    assert -exponent <= grammar.fraction_digits


@pytest.mark.parametrize(
    "text", ["1_0", " 1", "1 ", "1e2", "1E2", "+1", "-1", "0", "0.0", "00.1", "01", ".1", "1.", "١"]
)
def test_what_decimal_reads_but_a_client_decimal_is_not(text: str) -> None:
    with pytest.raises(PydanticCustomError):
        LOTS.parse(text)


def test_numbers_must_come_as_strings() -> None:
    for value in (0.1, 1, True, None):
        with pytest.raises(PydanticCustomError):
            LOTS.parse(value)


def test_the_bounds_are_digit_counts() -> None:
    assert LOTS.parse("999999.99999999") == Decimal("999999.99999999")
    assert LOTS.parse("0.00000001") == Decimal("0.00000001")
    # the last has more digits than Decimal's context: refused, never rounded to 1
    for text in ("1000000", "0.000000001", "1.123456789", "1.00000000000000000000000000000001"):
        with pytest.raises(PydanticCustomError):
            LOTS.parse(text)
