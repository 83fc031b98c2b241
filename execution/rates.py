"""Client price books and currency conversion through quoted instruments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from execution.instruments import Instrument


class Quote:
    """A price in points; replaced, never mutated, so a reference is a consistent snapshot."""

    __slots__ = ("ask", "bid", "time")

    def __init__(self, bid: int, ask: int, time: int) -> None:
        self.bid = bid
        self.ask = ask
        self.time = time

    def __repr__(self) -> str:
        return f"Quote({self.bid}, {self.ask}, {self.time})"


PriceBook = Mapping[str, Quote]
Path = tuple[tuple[Instrument, bool], ...]  # (instrument, inverse) legs


class Converter:
    """Rates between currencies through instruments quoted in one book: direct (EUR->USD via
    EURUSD), inverse (USD->EUR via EURUSD), or crossed through one other currency.

    Buy positions are valued at the ask of each leg and sells at the bid (domain.md, Margin).
    """

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._pairs: dict[tuple[str, str], Instrument] = {}
        for instrument in instruments:
            self._pairs.setdefault(
                (instrument.base_currency, instrument.profit_currency), instrument
            )
        self._paths: dict[tuple[str, str], Path | None] = {}

    def path(self, source: str, target: str) -> Path | None:
        key = (source, target)
        if key not in self._paths:
            self._paths[key] = self._find(source, target)
        return self._paths[key]

    def symbols(self, source: str, target: str) -> tuple[str, ...]:
        path = self.path(source, target)
        return tuple(leg.symbol for leg, _ in path) if path else ()

    def _direct(self, source: str, target: str) -> Path | None:
        if source == target:
            return ()
        if (source, target) in self._pairs:
            return ((self._pairs[(source, target)], False),)
        if (target, source) in self._pairs:
            return ((self._pairs[(target, source)], True),)
        return None

    def _find(self, source: str, target: str) -> Path | None:
        direct = self._direct(source, target)
        if direct is not None:
            return direct
        pivots = {c for pair in self._pairs for c in pair} - {source, target}
        for pivot in sorted(pivots, key=lambda c: (c != "USD", c)):
            first = self._direct(source, pivot)
            second = self._direct(pivot, target)
            if first is not None and second is not None:
                return first + second
        return None

    def rate(self, book: PriceBook, source: str, target: str, buy: bool) -> tuple[int, int] | None:
        """source -> target as (numerator, denominator); None when unquoted or unconvertible."""
        if source == target:
            return 1, 1
        path = self.path(source, target)
        if path is None:
            return None
        num = den = 1
        for instrument, inverse in path:
            quote = book.get(instrument.symbol)
            if quote is None:
                return None
            price = quote.ask if buy else quote.bid
            if inverse:
                num *= instrument.scale
                den *= price
            else:
                num *= price
                den *= instrument.scale
        return num, den
