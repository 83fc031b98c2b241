"""Decimal strings clients send: one grammar, stated in the OpenAPI schema and enforced by the
same regular expression.

Python's ``Decimal()`` reads far more than a price: ``"1_0"`` is ten, ``" 0.01"`` and
``"1e2"`` are numbers, and a JSON float is already rounded in binary. A client decimal here is
a JSON string of ASCII digits with an optional point: no sign, exponent, spaces, underscores or
leading zeros. The range is part of the pattern (positive, at most so many integer digits and
decimals), so every string the schema admits is one the server accepts, and the other way
round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError


def positive_pattern(integer_digits: int, fraction_digits: int) -> str:
    """A regular expression (JSON Schema / ECMA and Python alike) for a decimal above zero with
    at most ``integer_digits`` digits before the point and ``fraction_digits`` after it.

    No lookahead (not every engine has one): a value below one is spelled out by how many
    zeros follow the point before its first significant digit.
    """
    whole = rf"[1-9]{_up_to(integer_digits - 1)}(?:\.[0-9]{{1,{fraction_digits}}})?"
    below_one = "|".join(
        "0" * zeros + "[1-9]" + _up_to(fraction_digits - zeros - 1)
        for zeros in range(fraction_digits)
    )
    return rf"^(?:{whole}|0\.(?:{below_one}))$"


def _up_to(digits: int) -> str:
    return f"[0-9]{{0,{digits}}}" if digits else ""


@dataclass(frozen=True)
class DecimalGrammar:
    """One kind of client decimal: its pattern (for the schema) and its parser (for requests)."""

    integer_digits: int
    fraction_digits: int
    example: str

    @cached_property
    def pattern(self) -> str:
        return positive_pattern(self.integer_digits, self.fraction_digits)

    @cached_property
    def _compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    @property
    def rule(self) -> str:
        return (
            f"a decimal string above 0 such as {self.example!r}: up to {self.integer_digits} "
            f"digits, optionally a point and up to {self.fraction_digits} decimals; no sign, "
            "exponent, spaces, underscores or leading zeros"
        )

    def parse(self, value: object) -> Decimal:
        if not isinstance(value, str) or self._compiled.fullmatch(value) is None:
            raise PydanticCustomError("decimal_string", "expected {rule}", {"rule": self.rule})
        return Decimal(value)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.pattern, "examples": [self.example]}


# Lots: the finest step any instrument has is 0.0001 lot (the core's volume unit), but the
# warehouse keeps 8 decimals; the instrument's own step and maximum are the service's to judge.
LOTS = DecimalGrammar(integer_digits=6, fraction_digits=8, example="0.10")
# Prices and stop levels: the warehouse's exact_price (numeric(24, 10)).
PRICE = DecimalGrammar(integer_digits=14, fraction_digits=10, example="1.08250")

Lots = Annotated[
    Decimal,
    PlainValidator(LOTS.parse, json_schema_input_type=str),
    WithJsonSchema(LOTS.json_schema()),
]
Price = Annotated[
    Decimal,
    PlainValidator(PRICE.parse, json_schema_input_type=str),
    WithJsonSchema(PRICE.json_schema()),
]
