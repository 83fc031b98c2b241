"""Account groups: the broker's main configuration unit (domain.md, Instruments and accounts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from execution.commission import CommissionPlan
from execution.units import decimal_to_int


class Accounting(StrEnum):
    NETTING = "netting"
    HEDGING = "hedging"


class LevelMode(StrEnum):
    PERCENT = "percent"  # levels compare with margin level %
    MONEY = "money"  # levels compare with equity, in the deposit currency


@dataclass(frozen=True, slots=True)
class Markup:
    """Spread widening in points: `bid` taken off the bid, `ask` added to the ask, and the
    spread then widened symmetrically (extra point on the ask) to at least `min_spread`."""

    bid: int = 0
    ask: int = 0
    min_spread: int = 0


NO_MARKUP = Markup()


@dataclass(frozen=True, slots=True)
class AccountGroup:
    name: str
    currency: str = "USD"
    currency_digits: int = 2
    brand: str = ""
    accounting: Accounting = Accounting.HEDGING
    leverage: int = 100
    leverage_by_symbol_group: Mapping[str, int] = field(default_factory=dict)  # retail caps
    level_mode: LevelMode = LevelMode.PERCENT
    margin_call_level: Decimal = Decimal(100)
    stop_out_level: Decimal = Decimal(50)
    markups: Mapping[str, Markup] = field(default_factory=dict)  # per symbol; "*" is the default
    commissions: Mapping[str, CommissionPlan] = field(default_factory=dict)  # same keys
    negative_balance_protection: bool = False
    block_new_on_margin_call: bool = False
    max_positions: int = 0  # per account, 0 means no limit
    max_account_volume: Decimal = Decimal(0)  # lots open per account, 0 means no limit
    max_group_net_volume: Decimal = Decimal(0)  # |net lots| per symbol across the group
    min_kyc_level: int = 0
    orders_per_second: int = 0  # token bucket refill; 0 means no limit
    order_burst: int = 10
    retail: bool = True
    # derived
    max_account_units: int = field(init=False)
    max_group_units: int = field(init=False)
    money_scale: int = field(init=False)
    call_ratio: tuple[int, int] = field(init=False)
    stop_ratio: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "max_account_units", decimal_to_int(self.max_account_volume, 4) or 0)
        setattr_(self, "max_group_units", decimal_to_int(self.max_group_net_volume, 4) or 0)
        setattr_(self, "money_scale", 10**self.currency_digits)
        for name, level in (
            ("call_ratio", self.margin_call_level),
            ("stop_ratio", self.stop_out_level),
        ):
            frac = Fraction(level)
            setattr_(self, name, (frac.numerator, frac.denominator))

    def below(self, level: tuple[int, int], equity: int, margin: int) -> bool:
        """Whether the account is under a margin-call / stop-out level."""
        num, den = level
        if self.level_mode is LevelMode.MONEY:
            return equity * den < num * self.money_scale
        return margin > 0 and equity * 100 * den < num * margin

    def markup(self, symbol: str) -> Markup:
        return self.markups.get(symbol) or self.markups.get("*") or NO_MARKUP

    def commission(self, symbol: str) -> CommissionPlan | None:
        plan = self.commissions.get(symbol)
        return plan if plan is not None else self.commissions.get("*")

    def leverage_for(self, symbol_group: str, own: int | None = None) -> int:
        """The leverage margin uses in a symbol group: the group's, capped per symbol group
        (retail caps), or the account's own where it has one, never above that cap (an
        account's leverage only lowers what the group allows)."""
        capped = self.leverage_by_symbol_group.get(symbol_group, self.leverage)
        return capped if own is None else min(own, capped)

    def to_money(self, amount: Decimal) -> int | None:
        """A deposit-currency amount in minor units; None when not exact or not finite."""
        return decimal_to_int(amount, self.currency_digits)
