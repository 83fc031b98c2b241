"""Instruments: what the broker trades, with the fields domain.md lists.

Configuration comes in as Decimal (exact, from the warehouse); the hot path reads the integer
forms precomputed here (points, volume units, numerator / denominator pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from execution.sessions import TradingSessions
from execution.units import decimal_to_int, price_to_points


class CalcMode(StrEnum):
    """MT5 margin calculation modes (domain.md, Margin)."""

    FOREX = "forex"
    FOREX_NO_LEVERAGE = "forex_no_leverage"
    CFD = "cfd"
    CFDLEVERAGE = "cfd_leverage"
    CFDINDEX = "cfd_index"


class SwapMode(StrEnum):
    POINTS = "points"  # swap_long/short in points of price
    MONEY_PER_LOT = "money_per_lot"  # in the deposit currency per lot per day
    INTEREST = "interest"  # annual percent of the position's current value, 360-day year


class ConfigError(ValueError):
    """Configuration that cannot be traded (raised when loading, never in the hot path)."""


def _ratio(value: Decimal | Fraction | int) -> tuple[int, int]:
    frac = Fraction(value)
    return frac.numerator, frac.denominator


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    digits: int
    contract_size: Decimal
    base_currency: str
    profit_currency: str
    margin_currency: str
    calc_mode: CalcMode = CalcMode.FOREX
    margin_rate_buy: Decimal = Decimal(1)
    margin_rate_sell: Decimal = Decimal(1)
    tick_size: Decimal = Decimal(0)  # CFDINDEX: price step whose value is tick_value
    tick_value: Decimal = Decimal(0)  # CFDINDEX: money per tick_size (profit currency)
    hedged_margin: Decimal = Decimal("0.5")  # share of each overlapped leg that is charged
    hedged_larger_leg: bool = False  # charge only the larger leg instead
    volume_min: Decimal = Decimal("0.01")
    volume_max: Decimal = Decimal(100)
    volume_step: Decimal = Decimal("0.01")
    swap_mode: SwapMode = SwapMode.POINTS
    swap_long: Decimal = Decimal(0)
    swap_short: Decimal = Decimal(0)
    triple_swap_weekday: int = 2  # Monday = 0; Wednesday by market convention
    sessions: TradingSessions | None = None  # None: always open
    symbol_group: str = ""
    stops_level: int = 0  # minimum distance in points of SL/TP and pending prices from market
    max_pending_distance: int = 0  # pending price further than this from market: rejected; 0 off
    trade_enabled: bool = True
    # derived integer forms (hot path)
    scale: int = field(init=False)
    contract_num: int = field(init=False)
    contract_den: int = field(init=False)
    min_units: int = field(init=False)
    max_units: int = field(init=False)
    step_units: int = field(init=False)
    buy_rate: tuple[int, int] = field(init=False)
    sell_rate: tuple[int, int] = field(init=False)
    tick_ratio: tuple[int, int] = field(init=False)  # tick_value / tick_size
    hedged_ratio: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        units = [decimal_to_int(v, 4) for v in (self.volume_min, self.volume_max, self.volume_step)]
        if any(u is None or u <= 0 for u in units):
            raise ConfigError(f"{self.symbol}: volumes must be positive multiples of 0.0001 lot")
        if self.calc_mode is CalcMode.CFDINDEX and (self.tick_size <= 0 or self.tick_value <= 0):
            raise ConfigError(f"{self.symbol}: CFDINDEX needs tick_size and tick_value")
        if self.contract_size <= 0 or self.digits < 0:
            raise ConfigError(f"{self.symbol}: contract size and digits must be positive")
        num, den = _ratio(self.contract_size)
        setattr_ = object.__setattr__
        setattr_(self, "scale", 10**self.digits)
        setattr_(self, "contract_num", num)
        setattr_(self, "contract_den", den)
        setattr_(self, "min_units", units[0])
        setattr_(self, "max_units", units[1])
        setattr_(self, "step_units", units[2])
        setattr_(self, "buy_rate", _ratio(self.margin_rate_buy))
        setattr_(self, "sell_rate", _ratio(self.margin_rate_sell))
        tick = Fraction(self.tick_value) / Fraction(self.tick_size) if self.tick_size else 1
        setattr_(self, "tick_ratio", _ratio(tick))
        setattr_(self, "hedged_ratio", _ratio(self.hedged_margin))

    def to_points(self, price: Decimal) -> int | None:
        """A client price as points, None when it is not finite or not on the price grid."""
        return price_to_points(price, self.digits)

    def valid_units(self, units: int) -> bool:
        return (
            self.min_units <= units <= self.max_units
            and (units - self.min_units) % self.step_units == 0
        )
