"""Where the simulator's prices come from: a random walk per symbol, or a replay of a CSV file
of ticks (``symbol,bid,ask``) or candles (``symbol,open,high,low,close``; each candle becomes
four mids: open, high, low, close). Prices are integer points of each symbol's digits, so
quotes and fills are exact."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import cycle
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    symbol: str
    digits: int
    start: Decimal  # the first mid price

    def points(self, price: Decimal) -> int:
        return int(price.scaleb(self.digits).to_integral_value())

    def price(self, points: int) -> Decimal:
        return Decimal(points).scaleb(-self.digits)


# Mid prices near the seeded instruments' markets (warehouse/reference_data.py).
DEFAULT_SYMBOLS = (
    SymbolSpec("EURUSD", 5, Decimal("1.08500")),
    SymbolSpec("GBPUSD", 5, Decimal("1.27000")),
    SymbolSpec("USDJPY", 3, Decimal("150.000")),
    SymbolSpec("XAUUSD", 2, Decimal("2350.00")),
    SymbolSpec("US500", 2, Decimal("5200.00")),
    SymbolSpec("BTCUSD", 2, Decimal("65000.00")),
)


def parse_symbol(text: str) -> SymbolSpec:
    """``SYMBOL:start:digits``, e.g. ``EURUSD:1.08500:5``."""
    symbol, start, digits = text.split(":")
    return SymbolSpec(symbol, int(digits), Decimal(start))


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
