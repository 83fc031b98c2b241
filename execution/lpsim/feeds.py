"""Where the simulator's prices come from: the shared reference path (``execution.lpsim.path``)
shifted by the LP's own offset, which is what ``python -m execution.lpsim`` quotes by default;
a random walk per symbol (tests: ``step=0`` holds the price still); or a replay of a CSV file
of ticks (``symbol,bid,ask``) or candles (``symbol,open,high,low,close``; each candle becomes
four mids: open, high, low, close). Prices are integer points of each symbol's digits, so
quotes and fills are exact."""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import cycle
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from execution.units import points_to_price, price_to_points

if TYPE_CHECKING:
    from execution.lpsim.path import ReferencePath


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    symbol: str
    digits: int
    start: Decimal  # the first mid price; the level the reference path reverts to
    spread: int = 0  # the LP's spread in points (0: the simulator's `Behaviour.spread_points`)
    volatility: float = 0.10  # annualised, of the log price (the reference path's)

    def points(self, price: Decimal) -> int:
        points = price_to_points(price, self.digits, ROUND_HALF_EVEN)
        if points is None:
            raise ValueError(f"{self.symbol}: {price!r} is not a price")
        return points

    def price(self, points: int) -> Decimal:
        return points_to_price(points, self.digits)


# The seeded instruments (warehouse/reference_data.py): a level near their market, a typical
# interbank spread in points (an LP quotes a multiple of it) and a typical annual volatility.
DEFAULT_SYMBOLS = (
    SymbolSpec("EURUSD", 5, Decimal("1.08500"), spread=8, volatility=0.07),
    SymbolSpec("GBPUSD", 5, Decimal("1.27000"), spread=12, volatility=0.08),
    SymbolSpec("USDJPY", 3, Decimal("150.000"), spread=10, volatility=0.10),
    SymbolSpec("XAUUSD", 2, Decimal("2350.00"), spread=30, volatility=0.15),
    SymbolSpec("US500", 2, Decimal("5200.00"), spread=50, volatility=0.16),
    SymbolSpec("BTCUSD", 2, Decimal("65000.00"), spread=2_500, volatility=0.50),
)


def parse_symbol(text: str) -> SymbolSpec:
    """``SYMBOL:start:digits[:spread[:volatility]]``, e.g. ``EURUSD:1.08500:5:8:0.07``."""
    symbol, start, digits, *rest = text.split(":")
    if len(rest) > 2:
        raise ValueError(f"{text!r}: expected SYMBOL:start:digits[:spread[:volatility]]")
    spread = int(rest[0]) if rest else 0
    volatility = float(rest[1]) if len(rest) > 1 else 0.10
    if spread < 0 or not 0 < volatility < 10:
        raise ValueError(f"{text!r}: spread must be >= 0 and volatility in (0, 10)")
    return SymbolSpec(symbol, int(digits), Decimal(start), spread, volatility)


def lp_symbols(
    specs: list[SymbolSpec], spread_scale: float, fixed_spread: int | None
) -> list[SymbolSpec]:
    """The symbols as one LP quotes them: ``fixed_spread`` points on every symbol, or else each
    symbol's typical spread times ``spread_scale`` (at least one point)."""
    if fixed_spread is not None:
        return [replace(spec, spread=fixed_spread) for spec in specs]
    return [
        replace(spec, spread=max(round(spec.spread * spread_scale), 1)) if spec.spread else spec
        for spec in specs
    ]


class Feed(Protocol):
    def next_mid(self, symbol: str) -> int: ...


class RandomWalk:
    """Each step moves the mid by -step..+step points (seeded: a run can be repeated)."""

    def __init__(self, specs: list[SymbolSpec], step: int = 3, seed: int = 1) -> None:
        self._mids = {s.symbol: s.points(s.start) for s in specs}
        self._step = step
        self._random = random.Random(seed)  # noqa: S311 - simulated prices, not secrets

    def next_mid(self, symbol: str) -> int:
        mid = self._mids[symbol] + self._random.randint(-self._step, self._step)
        self._mids[symbol] = max(mid, 1)
        return self._mids[symbol]


class PathFeed:
    """The shared reference path at the current instant, plus this LP's offset in points."""

    def __init__(
        self,
        path: ReferencePath,
        offsets: Mapping[str, int] | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.path = path
        self.offsets = dict(offsets or {})
        self.clock = clock

    def next_mid(self, symbol: str) -> int:
        return max(self.path.mid(symbol, self.clock()) + self.offsets.get(symbol, 0), 1)


class Replay:
    """Mids read from a CSV file, per symbol, from the start again when a symbol runs out."""

    def __init__(self, path: Path, specs: list[SymbolSpec]) -> None:
        by_symbol = {s.symbol: s for s in specs}
        mids: dict[str, list[int]] = {}
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                spec = by_symbol.get(row.get("symbol", ""))
                if spec is None:
                    continue
                mids.setdefault(spec.symbol, []).extend(_mids(row, spec))
        self._series: dict[str, Iterator[int]] = {s: cycle(m) for s, m in mids.items() if m}
        self._fallback = RandomWalk([s for s in specs if s.symbol not in self._series])

    def next_mid(self, symbol: str) -> int:
        series = self._series.get(symbol)
        return next(series) if series is not None else self._fallback.next_mid(symbol)


def _mids(row: dict[str, str], spec: SymbolSpec) -> list[int]:
    if "bid" in row and "ask" in row:
        return [(spec.points(Decimal(row["bid"])) + spec.points(Decimal(row["ask"]))) // 2]
    return [spec.points(Decimal(row[k])) for k in ("open", "high", "low", "close")]
