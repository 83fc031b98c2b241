"""Commissions: per lot, per deal or percent of turnover, charged on entry, exit or both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from execution.units import VOLUME_SCALE, div_round


class CommissionMode(StrEnum):
    PER_LOT = "per_lot"  # amount in the deposit currency per lot
    PER_DEAL = "per_deal"  # amount in the deposit currency per deal
    TURNOVER = "turnover"  # amount is percent of the deal's value


class ChargeOn(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class CommissionPlan:
    mode: CommissionMode
    amount: Decimal
    charge_on: ChargeOn = ChargeOn.BOTH
    _num: int = field(init=False)
    _den: int = field(init=False)

    def __post_init__(self) -> None:
        frac = Fraction(self.amount)
        if self.mode is CommissionMode.TURNOVER:
            frac /= 100
        object.__setattr__(self, "_num", frac.numerator)
        object.__setattr__(self, "_den", frac.denominator)

    def charge(
        self,
        entry_units: int,
        exit_units: int,
        money_scale: int,
        turnover: Callable[[int], Fraction],
    ) -> int:
        """The commission of one deal as a cost (<= 0) in minor units.

        `turnover(units)` gives the deal's value for that volume in the deposit currency.
        """
        if self.charge_on is ChargeOn.ENTRY:
            units = entry_units
        elif self.charge_on is ChargeOn.EXIT:
            units = exit_units
        else:
            units = entry_units + exit_units
        if units <= 0:
            return 0
        if self.mode is CommissionMode.PER_LOT:
            return -div_round(self._num * units * money_scale, self._den * VOLUME_SCALE)
        if self.mode is CommissionMode.PER_DEAL:
            return -div_round(self._num * money_scale, self._den)
        value = turnover(units) * self._num * money_scale
        return -div_round(value.numerator, value.denominator * self._den)
