"""Figures the api answers with: plain notation, no negative zero, the digits of the currency,
symbol or volume step."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from api.formats import SymbolDigits, fixed, money, plain
from api.schemas import Deal


@pytest.mark.parametrize(
    ("stored", "digits", "shown"),
    [
        (D("0E-8"), 2, "0.00"),  # NUMERIC zero as psycopg reads it
        (D("-0E-8"), 2, "0.00"),
        (D("-0.00000001"), 2, "0.00"),  # rounds to zero: no sign
        (D("-12.34500000"), 2, "-12.35"),  # half away from zero, as the core rounds
        (D("1.0800100000"), 5, "1.08001"),
        (D("0.0000001"), 8, "0.00000010"),  # str() would say 1.0E-7
        (D("150"), 0, "150"),
    ],
)
def test_figures_are_plain_text_at_their_digits(stored: D, digits: int, shown: str) -> None:
    assert format(fixed(stored, digits), "f") == shown


def test_money_uses_the_currencys_minor_units() -> None:
    assert format(money(D("1234.50000000"), "USD"), "f") == "1234.50"
    assert format(money(D("1234.00000000"), "JPY"), "f") == "1234"
    assert format(money(D("1.23400000"), "KWD"), "f") == "1.234"


def test_volume_digits_follow_the_step_and_plain_drops_trailing_zeros() -> None:
    assert SymbolDigits.of(5, D("0.01000000")) == SymbolDigits(5, 2)
    assert SymbolDigits.of(2, D("1.00000000")) == SymbolDigits(2, 0)
    assert format(plain(D("100000.00000000")), "f") == "100000"
    assert format(plain(D("0.50000000")), "f") == "0.5"


def test_a_response_writes_decimals_in_plain_notation() -> None:
    deal = Deal(
        id=1,
        order_id=None,
        position_id=None,
        symbol="EURUSD",
        side="buy",  # type: ignore[arg-type]
        entry="in",  # type: ignore[arg-type]
        volume=fixed(D("1E-8"), 8),
        price=fixed(D("1.08"), 5),
        profit=fixed(D("-0E-8"), 2),
        commission=D("0E-8"),
        swap=D(0),
        fee=D(0),
        reason="client",
        executed_at="2025-01-01T00:00:00Z",  # type: ignore[arg-type]
    )
    body = json.loads(deal.model_dump_json())
    assert (body["volume"], body["price"], body["profit"]) == ("0.00000001", "1.08000", "0.00")
    assert body["commission"] == "0.00000000"  # even unformatted: never 0E-8
