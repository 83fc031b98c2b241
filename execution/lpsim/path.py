"""The market every simulated LP quotes: one reference path per symbol, a pure function of the
wall-clock instant and a seed, so LP processes started apart agree on the market without
talking to each other, and one that restarts rejoins the path where the market is.

The path is the symbol's log price around its level: over days a mean-reverting walk
(Ornstein-Uhlenbeck, a half-life of months, so prices stay near realistic levels for ever and
move like a random walk over hours); inside each day Brownian bridges pinned to it, through
hours, minutes and 50 ms steps, with the symbol's annual volatility at every scale. Every
random draw is seeded by (seed, symbol, scale, index), so the value at an instant never depends
on which instants were asked before: only on the instant, the seed and the symbol's spec.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from functools import lru_cache

from execution.lpsim.feeds import SymbolSpec

STEP_NS = 50_000_000  # the path's resolution: it moves at most every 50 ms
_STEPS_PER_MINUTE = 1_200
_DAY_NS = 86_400_000_000_000
_YEAR_DAYS = 365.25  # the path runs every day: annual volatility over calendar days
_HALF_LIFE_DAYS = 60.0
_HORIZON = 10  # half-lives of past days a day's level still depends on (0.1 % weight left)


class ReferencePath:
    """Mid prices, in integer points of each symbol's digits, at any instant (ns UTC)."""

    def __init__(self, specs: Iterable[SymbolSpec], seed: int = 1) -> None:
        self.seed = seed
        self.specs = {s.symbol: s for s in specs}
        self._reversion = 0.5 ** (1 / _HALF_LIFE_DAYS)  # a day's level keeps this of the last
        self._lags = int(_HALF_LIFE_DAYS * _HORIZON)
        # Bridges are cached per (symbol, scale, index): one minute of 50 ms steps is 1,200
        # draws, made once and read by every quote in that minute.
        self._minutes = lru_cache(maxsize=64)(self._minute_bridge)
        self._hours = lru_cache(maxsize=64)(self._hour_bridge)
        self._days = lru_cache(maxsize=64)(self._day_bridge)
        self._levels = lru_cache(maxsize=64)(self._day_level)
        self._shocks = lru_cache(maxsize=4 * self._lags)(self._day_shock)

    def mid(self, symbol: str, time_ns: int) -> int:
        spec = self.specs[symbol]
        log_price = self.log_return(symbol, time_ns)
        return max(round(float(spec.start) * math.exp(log_price) * 10.0**spec.digits), 1)

    def log_return(self, symbol: str, time_ns: int) -> float:
        """log(mid / the symbol's level) at the 50 ms step holding ``time_ns``."""
        step = time_ns // STEP_NS
        minute, index = divmod(step, _STEPS_PER_MINUTE)
        bridge: list[float] = self._minutes(symbol, minute)
        return bridge[index]

    # --- the scales, coarse to fine --------------------------------------------------------

    def _daily_sd(self, symbol: str) -> float:
        return self.specs[symbol].volatility / math.sqrt(_YEAR_DAYS)

    def _day_shock(self, symbol: str, day: int) -> float:
        return self._draws(symbol, "day", day).gauss(0.0, self._daily_sd(symbol))

    def _day_level(self, symbol: str, day: int) -> float:
        """The walk at the start of ``day``: the sum of past shocks, each fading by half
        every half-life (the moving-average form of the mean-reverting walk)."""
        weight, level = 1.0, 0.0
        for lag in range(self._lags):
            level += weight * self._shocks(symbol, day - lag)
            weight *= self._reversion
        return level

    def _day_bridge(self, symbol: str, day: int) -> list[float]:
        start, end = self._levels(symbol, day), self._levels(symbol, day + 1)
        sd = self._daily_sd(symbol) / math.sqrt(24)
        return _bridge(start, end, 24, sd, self._draws(symbol, "hours", day))

    def _hour_bridge(self, symbol: str, hour: int) -> list[float]:
        day, index = divmod(hour, 24)
        start = self._days(symbol, day)[index]
        end = self._days(symbol, (hour + 1) // 24)[(hour + 1) % 24]
        sd = self._daily_sd(symbol) / math.sqrt(24 * 60)
        return _bridge(start, end, 60, sd, self._draws(symbol, "minutes", hour))

    def _minute_bridge(self, symbol: str, minute: int) -> list[float]:
        hour, index = divmod(minute, 60)
        start = self._hours(symbol, hour)[index]
        end = self._hours(symbol, (minute + 1) // 60)[(minute + 1) % 60]
        sd = self._daily_sd(symbol) / math.sqrt(24 * 60 * _STEPS_PER_MINUTE)
        return _bridge(start, end, _STEPS_PER_MINUTE, sd, self._draws(symbol, "steps", minute))

    def _draws(self, symbol: str, scale: str, index: int) -> random.Random:
        # a str seed goes through SHA-512: the same numbers in every process and Python run
        return random.Random(f"{self.seed}:{symbol}:{scale}:{index}")  # noqa: S311 - a market


def _bridge(start: float, end: float, steps: int, sd: float, draws: random.Random) -> list[float]:
    """A Brownian path of ``steps`` steps from ``start`` pinned to ``end`` (steps + 1 points)."""
    walk = [0.0]
    for _ in range(steps):
        walk.append(walk[-1] + draws.gauss(0.0, sd))
    drift = (end - start - walk[-1]) / steps
    return [start + w + drift * i for i, w in enumerate(walk)]
