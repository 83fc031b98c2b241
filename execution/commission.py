"""Commissions: per lot, per deal or percent of turnover, charged on entry, exit or both, in
tiers by the account's volume this month."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from brokerstack.times import to_datetime, to_ns
from execution.units import VOLUME_SCALE, div_ceil, div_round


def month_end(now: int) -> int:
    """The start of the calendar month (UTC) after the one `now` is in, in ns."""
    moment = to_datetime(now)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return to_ns(datetime(year, month, 1, tzinfo=UTC))


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
    """`amount` is the base tier's; `tiers` are (monthly lots reached, amount) pairs: an
    account that traded at least that many lots this month (before the deal) pays that
    tier's amount."""

    mode: CommissionMode
    amount: Decimal
    charge_on: ChargeOn = ChargeOn.BOTH
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()
    # (monthly volume units from which it applies, numerator, denominator), highest first
    _rates: tuple[tuple[int, int, int], ...] = field(init=False)

    def __post_init__(self) -> None:
        rates = []
        for lots, amount in ((Decimal(0), self.amount), *self.tiers):
            frac = Fraction(amount)
            if self.mode is CommissionMode.TURNOVER:
                frac /= 100
            units = Fraction(lots) * VOLUME_SCALE
            rates.append(
                (div_ceil(units.numerator, units.denominator), frac.numerator, frac.denominator)
            )
        object.__setattr__(self, "_rates", tuple(sorted(rates, reverse=True)))

    def _rate(self, month_units: int) -> tuple[int, int]:
        for threshold, num, den in self._rates:
            if month_units >= threshold:
                return num, den
        return self._rates[-1][1:]

    def charge(
        self,
        entry_units: int,
        exit_units: int,
        money_scale: int,
        turnover: Callable[[int], Fraction],
        month_units: int = 0,
    ) -> int:
        """The commission of one deal as a cost (<= 0) in minor units.

        `turnover(units)` gives the deal's value for that volume in the deposit currency;
        `month_units` is the account's volume this month before the deal (the tier).
        """
        if self.charge_on is ChargeOn.ENTRY:
            units = entry_units
        elif self.charge_on is ChargeOn.EXIT:
            units = exit_units
        else:
            units = entry_units + exit_units
        if units <= 0:
            return 0
        num, den = self._rate(month_units)
        if self.mode is CommissionMode.PER_LOT:
            return -div_round(num * units * money_scale, den * VOLUME_SCALE)
        if self.mode is CommissionMode.PER_DEAL:
            return -div_round(num * money_scale, den)
        value = turnover(units) * num * money_scale
        return -div_round(value.numerator, value.denominator * den)
