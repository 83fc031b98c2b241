"""Client price books and currency conversion through quoted instruments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

from execution.instruments import CalcMode, Instrument


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
# One hop of a conversion: the instruments quoting that currency pair, best first, and
# whether the hop is the pair's inverse.
Hop = tuple[tuple[Instrument, ...], bool]
Path = tuple[Hop, ...]

_CURRENCY_MODES = (CalcMode.FOREX, CalcMode.FOREX_NO_LEVERAGE)


def _preference(instrument: Instrument) -> tuple[bool, bool, str]:
    """Currency pairs first, the plain symbol (EURUSD) before suffixed ones (EURUSD.x)."""
    plain = instrument.symbol == instrument.base_currency + instrument.profit_currency
    return instrument.calc_mode not in _CURRENCY_MODES, not plain, instrument.symbol


class Converter:
    """Rates between currencies through instruments quoted in one book: direct (EUR->USD via
    EURUSD), inverse (USD->EUR via EURUSD), or crossed through one other currency.

    A currency pair may be quoted by several instruments (EURUSD and EURUSD.x): a rate uses
    the first, by preference, that is live (a fresh aggregate: the symbols in `live`), else
    the one priced most recently. Instruments not enabled for trading never price a
    conversion. Buy positions are valued at the ask of each leg and sells at the bid
    (domain.md, Margin).
    """

    def __init__(self, instruments: Iterable[Instrument], live: Set[str] = frozenset()) -> None:
        pairs: dict[tuple[str, str], list[Instrument]] = {}
        for instrument in instruments:
            base, quote = instrument.base_currency, instrument.profit_currency
            if instrument.trade_enabled and base != quote:
                pairs.setdefault((base, quote), []).append(instrument)
        self._pairs = {key: tuple(sorted(found, key=_preference)) for key, found in pairs.items()}
        self._live = live
        self._paths: dict[tuple[str, str], Path | None] = {}

    def path(self, source: str, target: str) -> Path | None:
        key = (source, target)
        if key not in self._paths:
            self._paths[key] = self._find(source, target)
        return self._paths[key]

    def symbols(self, source: str, target: str) -> tuple[str, ...]:
        """Every symbol a conversion may read (so a price of any of them re-values)."""
        path = self.path(source, target)
        return tuple(i.symbol for candidates, _ in path for i in candidates) if path else ()

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

    def hop(
        self, book: PriceBook, candidates: tuple[Instrument, ...]
    ) -> tuple[Instrument, Quote] | None:
        """The instrument and quote a hop converts at: the first live candidate, else the one
        priced most recently; None when none was ever priced."""
        fallback: tuple[Instrument, Quote] | None = None
        for instrument in candidates:
            quote = book.get(instrument.symbol)
            if quote is None:
                continue
            if instrument.symbol in self._live:
                return instrument, quote
            if fallback is None or quote.time > fallback[1].time:
                fallback = instrument, quote
        return fallback

    def rate(self, book: PriceBook, source: str, target: str, buy: bool) -> tuple[int, int] | None:
        """source -> target as (numerator, denominator); None when unquoted or unconvertible."""
        if source == target:
            return 1, 1
        path = self.path(source, target)
        if path is None:
            return None
        num = den = 1
        for candidates, inverse in path:
            found = self.hop(book, candidates)
            if found is None:
                return None
            instrument, quote = found
            price = quote.ask if buy else quote.bid
            if inverse:
                num *= instrument.scale
                den *= price
            else:
                num *= price
                den *= instrument.scale
        return num, den
