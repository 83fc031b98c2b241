"""Pricing: the aggregator over LP quote streams and the per-group pricing engine."""

from __future__ import annotations

from collections.abc import Iterable

from execution.groups import AccountGroup, Markup
from execution.rates import Quote


class _LpQuote:
    __slots__ = ("ask", "bid", "time")

    def __init__(self, bid: int, ask: int, time: int) -> None:
        self.bid = bid
        self.ask = ask
        self.time = time


class Best:
    """Best bid and best ask across LPs, and which LP holds each."""

    __slots__ = ("ask", "ask_lp", "bid", "bid_lp", "time")

    def __init__(self, bid: int, bid_lp: str, ask: int, ask_lp: str, time: int) -> None:
        self.bid = bid
        self.bid_lp = bid_lp
        self.ask = ask
        self.ask_lp = ask_lp
        self.time = time


class Aggregator:
    """Top of book across LPs.

    A quote older than `staleness_ns` is ignored; a crossed quote (bid above ask) replaces and
    thereby withdraws that LP's previous quote; an LP that sent nothing on any symbol for
    `quiet_ns` is out of every symbol until its next quote. An aggregate that would be crossed
    across LPs is not published (None): the book is inconsistent until an LP moves.
    """

    def __init__(self, staleness_ns: int, quiet_ns: int | None = None) -> None:
        self.staleness_ns = staleness_ns
        self.quiet_ns = quiet_ns if quiet_ns is not None else staleness_ns
        self._quotes: dict[str, dict[str, _LpQuote]] = {}
        self._last_seen: dict[str, int] = {}

    def update(self, lp: str, symbol: str, bid: int, ask: int, now: int) -> Best | None:
        self._last_seen[lp] = now
        quotes = self._quotes.get(symbol)
        if quotes is None:
            quotes = self._quotes[symbol] = {}
        if bid <= 0 or ask <= 0 or bid > ask:
            quotes.pop(lp, None)
        else:
            quotes[lp] = _LpQuote(bid, ask, now)
        return self.best(symbol, now)

    def best(self, symbol: str, now: int) -> Best | None:
        quotes = self._quotes.get(symbol)
        if not quotes:
            return None
        oldest = now - self.staleness_ns
        quiet = now - self.quiet_ns
        last_seen = self._last_seen
        best: Best | None = None
        for lp, quote in quotes.items():
            if quote.time < oldest or last_seen[lp] < quiet:
                continue
            if best is None:
                best = Best(quote.bid, lp, quote.ask, lp, quote.time)
                continue
            if quote.bid > best.bid:
                best.bid, best.bid_lp = quote.bid, lp
            if quote.ask < best.ask:
                best.ask, best.ask_lp = quote.ask, lp
            best.time = max(best.time, quote.time)
        if best is None or best.bid > best.ask:
            return None
        return best


def apply_markup(bid: int, ask: int, markup: Markup) -> tuple[int, int]:
    bid -= markup.bid
    ask += markup.ask
    short = markup.min_spread - (ask - bid)
    if short > 0:
        bid -= short // 2
        ask += short - short // 2
    return bid, ask


class PricingEngine:
    """Client prices per group: the aggregate widened by each group's markup.

    `books[group]` maps symbol -> the last client Quote (kept for valuation even when the
    symbol goes off quotes); `live` holds the symbols with a current aggregate.
    """

    def __init__(self, groups: Iterable[AccountGroup]) -> None:
        self.books: dict[str, dict[str, Quote]] = {}
        self.versions: dict[str, int] = {}  # per group, bumped by every price it receives
        self.raw: dict[str, Best] = {}
        self.live: set[str] = set()
        self._groups: list[AccountGroup] = []
        for group in groups:
            self.add_group(group)

    def add_group(self, group: AccountGroup) -> None:
        if group.name not in self.books:
            self._groups.append(group)
        else:
            self._groups = [g for g in self._groups if g.name != group.name] + [group]
        self.books.setdefault(group.name, {})
        self.versions.setdefault(group.name, 0)

    def publish(self, symbol: str, best: Best | None) -> list[tuple[AccountGroup, Quote]]:
        """Apply a new aggregate; returns the client quotes it produced, one per group."""
        if best is None:
            self.live.discard(symbol)
            self.raw.pop(symbol, None)
            return []
        self.live.add(symbol)
        self.raw[symbol] = best
        produced: list[tuple[AccountGroup, Quote]] = []
        by_markup: dict[Markup, Quote] = {}
        for group in self._groups:
            markup = group.markup(symbol)
            quote = by_markup.get(markup)
            if quote is None:
                bid, ask = apply_markup(best.bid, best.ask, markup)
                quote = by_markup[markup] = Quote(bid, ask, best.time)
            self.books[group.name][symbol] = quote
            self.versions[group.name] += 1
            produced.append((group, quote))
        return produced
