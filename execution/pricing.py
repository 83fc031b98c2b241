"""Pricing: the aggregator over LP quote streams and the per-group pricing engine."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from execution.groups import AccountGroup, Markup
from execution.rates import Quote


class _LpQuote:
    __slots__ = ("ask", "bid", "time")

    def __init__(self, bid: int, ask: int, time: int) -> None:
        self.bid = bid
        self.ask = ask
        self.time = time


class OffQuotes(StrEnum):
    """Why a symbol has no aggregate (the reason a `QuoteState` carries)."""

    NO_QUOTES = "no LP quotes"  # no LP has a usable quote for it (none yet, withdrawn, crossed)
    STALE = "stale"  # every LP quote is older than the staleness limit, or its LP went quiet
    CROSSED = "crossed"  # LPs cross each other and none can be told off the consensus


class Best:
    """Best bid and best ask across LPs, which LP holds each, and the LPs left out of this
    aggregate because their quotes crossed the others' (empty when none was)."""

    __slots__ = ("ask", "ask_lp", "bid", "bid_lp", "left_out", "time")

    def __init__(
        self,
        bid: int,
        bid_lp: str,
        ask: int,
        ask_lp: str,
        time: int,
        left_out: tuple[str, ...] = (),
    ) -> None:
        self.bid = bid
        self.bid_lp = bid_lp
        self.ask = ask
        self.ask_lp = ask_lp
        self.time = time
        self.left_out = left_out


class Aggregator:
    """Top of book across LPs.

    A quote older than `staleness_ns` is ignored; a crossed quote (bid above ask) replaces and
    thereby withdraws that LP's previous quote; an LP that sent nothing on any symbol for
    `quiet_ns` is out of every symbol until its next quote.

    When the fresh quotes cross each other (one LP's bid above another's ask), the LPs off
    the consensus are left out and the aggregate comes from the rest. The consensus is the
    median of the LPs' mids with three or more LPs, and with two (where a median cannot tell
    which one moved) the mid last aggregated for the symbol. LPs are left out farthest from
    the consensus first, all LPs at the same distance together, until the rest no longer
    cross. When nothing is left (two LPs equally far from it) the symbol has no aggregate and
    `reason` says `OffQuotes.CROSSED`.
    """

    def __init__(self, staleness_ns: int, quiet_ns: int | None = None) -> None:
        self.staleness_ns = staleness_ns
        self.quiet_ns = quiet_ns if quiet_ns is not None else staleness_ns
        self._quotes: dict[str, dict[str, _LpQuote]] = {}
        self._last_seen: dict[str, int] = {}
        self._last_mid2: dict[str, int] = {}  # per symbol: bid + ask of the last aggregate

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
        for lp, quote in quotes.items():  # the hot path: one pass, no intermediate objects
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
        if best is not None and best.bid > best.ask:
            best = self._resolve(symbol, self._fresh(symbol, now))
        if best is not None:
            self._last_mid2[symbol] = best.bid + best.ask
        return best

    def reason(self, symbol: str, now: int) -> str:
        """Why `best(symbol, now)` is None ("" when it is not): an `OffQuotes` value."""
        if not self._quotes.get(symbol):
            return OffQuotes.NO_QUOTES
        if not self._fresh(symbol, now):
            return OffQuotes.STALE
        return "" if self.best(symbol, now) is not None else OffQuotes.CROSSED

    def _fresh(self, symbol: str, now: int) -> dict[str, _LpQuote]:
        quotes = self._quotes.get(symbol)
        if not quotes:
            return {}
        oldest = now - self.staleness_ns
        quiet = now - self.quiet_ns
        last_seen = self._last_seen
        return {lp: q for lp, q in quotes.items() if q.time >= oldest and last_seen[lp] >= quiet}

    def _resolve(self, symbol: str, quotes: dict[str, _LpQuote]) -> Best | None:
        """The aggregate of a crossed book without the LPs off the consensus, or None."""
        left_out = self._off_consensus(symbol, quotes)
        kept = [(lp, q) for lp, q in quotes.items() if lp not in left_out]
        if not kept:
            return None
        bid_lp, bid = max(kept, key=lambda item: item[1].bid)
        ask_lp, ask = min(kept, key=lambda item: item[1].ask)
        time = max(q.time for _, q in kept)
        return Best(bid.bid, bid_lp, ask.ask, ask_lp, time, left_out)

    def _off_consensus(self, symbol: str, quotes: dict[str, _LpQuote]) -> tuple[str, ...]:
        """The LPs to leave out of a crossed book (all of them when it cannot be resolved)."""
        # Mids doubled (bid + ask) and the consensus doubled again keep everything in integers.
        mids2 = {lp: q.bid + q.ask for lp, q in quotes.items()}
        if len(mids2) >= 3:
            ordered = sorted(mids2.values())
            consensus4 = ordered[(len(ordered) - 1) // 2] + ordered[len(ordered) // 2]
        else:  # two LPs: set already, by the aggregate of whichever of them quoted first
            consensus4 = 2 * self._last_mid2[symbol]
        distance = {lp: abs(2 * mid2 - consensus4) for lp, mid2 in mids2.items()}
        left_out: list[str] = []
        kept = dict(quotes)
        for far in sorted(set(distance.values()), reverse=True):
            if max(q.bid for q in kept.values()) <= min(q.ask for q in kept.values()):
                break
            tied = [lp for lp in kept if distance[lp] == far]
            left_out += tied
            for lp in tied:
                del kept[lp]
            if not kept:
                break
        return tuple(sorted(left_out))


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
    symbol goes off quotes); `live` holds the symbols with a current aggregate; `last` keeps
    each symbol's last aggregate, gone stale or not (the rates a daily cut reports at).
    """

    def __init__(self, groups: Iterable[AccountGroup]) -> None:
        self.books: dict[str, dict[str, Quote]] = {}
        self.versions: dict[str, int] = {}  # per group, bumped by every price it receives
        self.raw: dict[str, Best] = {}
        self.last: dict[str, Best] = {}
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
        self.raw[symbol] = self.last[symbol] = best
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
