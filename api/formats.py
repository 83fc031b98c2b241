"""Figures the api answers with, in one format: decimal strings in plain notation (never
``0E-8``, never ``-0.00``), money at its currency's minor units, prices at the symbol's digits,
volumes at the instrument's volume step.

The warehouse keeps every amount at NUMERIC's fixed scale (8 decimals for money, 10 for prices),
so a figure read from it carries those digits until it is put to its own here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

from warehouse.reference_data import currency_digits

DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"


def fixed(value: Decimal, digits: int) -> Decimal:
    """``value`` at exactly ``digits`` decimals (half away from zero), zero without a sign."""
    result = value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    return abs(result) if result.is_zero() else result


def optional_fixed(value: Decimal | None, digits: int) -> Decimal | None:
    return None if value is None else fixed(value, digits)


def money(value: Decimal, currency: str) -> Decimal:
    return fixed(value, currency_digits(currency))


def plain(value: Decimal) -> Decimal:
    """A figure without a unit of its own (contract size): no trailing zeros."""
    normalized = value.normalize()
    return fixed(normalized, max(0, -int(normalized.as_tuple().exponent)))


@dataclass(frozen=True, slots=True)
class SymbolDigits:
    """How one instrument's prices and volumes are written."""

    price: int  # the instrument's digits
    volume: int  # the decimals of its volume step (0.01 lot -> 2)

    @classmethod
    def of(cls, digits: int, volume_step: Decimal) -> SymbolDigits:
        exponent = int(volume_step.normalize().as_tuple().exponent)
        return cls(digits, max(0, -exponent))


def _text(value: Decimal) -> str:
    return format(value, "f")


# Every Decimal a response carries: JSON text in plain notation, as the schema says.
Fixed = Annotated[
    Decimal,
    PlainSerializer(_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_TEXT, "examples": ["1.08250"]}),
]
