"""Exact units of the hot path, and the conversions at its edges.

* price: integer points, ``price * 10**digits`` of the instrument;
* volume: integer volume units, ``lots * VOLUME_SCALE`` (1 unit = 0.0001 lot, the finest step
  MT5 offers), the same scale for every instrument so volumes add without looking anything up;
* money: integer minor units of the account's deposit currency (cents for USD, ``10**digits``
  per unit). Amounts computed from prices are exact rationals rounded once, half away from zero,
  when they become money.

Decimal is used only at the edges (contracts, journal); binary floats never.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact

VOLUME_SCALE = 10_000
VOLUME_DIGITS = 4  # VOLUME_SCALE = 10**VOLUME_DIGITS
_VOLUME_EXP = -VOLUME_DIGITS
_MAX_DIGITS = 30  # beyond any real price, volume or amount; keeps Decimal from overflowing
# Scaling under this context raises instead of rounding: a value with more significant digits
# than Decimal's 28 would otherwise round to a neighbour (1.000...0001 lots to exactly 1).
_EXACT = Context(traps=[Inexact])


def div_round(num: int, den: int) -> int:
    """num / den rounded to the nearest integer, halves away from zero (den > 0)."""
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def div_ceil(num: int, den: int) -> int:
    return -(-num // den)


def decimal_to_int(value: Decimal, exponent: int) -> int | None:
    """`value * 10**exponent` as an int when exact and finite, else None (bad input)."""
    if not isinstance(value, Decimal) or not value.is_finite() or value.adjusted() > _MAX_DIGITS:
        return None
    try:
        scaled = value.scaleb(exponent, _EXACT)
    except Inexact:
        return None
    integral = scaled.to_integral_value()
    if integral != scaled:
        return None
    return int(integral)


def price_to_points(price: Decimal, digits: int, rounding: str | None = None) -> int | None:
    """A price in points of `digits`: exact (None when off the price grid), or rounded with a
    `decimal` rounding mode (an LP's quote or fill, which may be finer than the grid); None
    when not a finite Decimal."""
    if rounding is None:
        return decimal_to_int(price, digits)
    if not isinstance(price, Decimal) or not price.is_finite() or price.adjusted() > _MAX_DIGITS:
        return None
    return int(price.scaleb(digits).to_integral_value(rounding))


def points_to_price(points: int, digits: int) -> Decimal:
    return to_decimal(points, digits)


def lots_to_units(lots: Decimal) -> int | None:
    return decimal_to_int(lots, -_VOLUME_EXP)


_LOTS: dict[int, Decimal] = {}


def units_to_lots(units: int) -> Decimal:
    """Volume units as lots; the few volumes clients use repeat, so they are kept."""
    lots = _LOTS.get(units)
    if lots is None:
        lots = Decimal(units).scaleb(_VOLUME_EXP)
        if len(_LOTS) < 4096:
            _LOTS[units] = lots
    return lots


_DECIMALS: dict[tuple[int, int], Decimal] = {}


def to_decimal(value: int, digits: int) -> Decimal:
    """An integer in 10**-digits units (points, minor units) as a Decimal.

    Kept in a bounded cache: between two ticks every fill shares the same few prices and
    commissions, and building a Decimal costs several times a dict look-up.
    """
    key = (value, digits)
    result = _DECIMALS.get(key)
    if result is None:
        if len(_DECIMALS) >= 65_536:
            _DECIMALS.clear()
        result = _DECIMALS[key] = Decimal(value).scaleb(-digits)
    return result


def optional_decimal(value: int | None, digits: int) -> Decimal | None:
    return None if value is None else to_decimal(value, digits)
