"""Market data from an LP: a snapshot W or an incremental refresh X becomes one LpQuote per
symbol it touched (top of book, exactly as the LP priced it); a reject Y withdraws the
symbol. A quote with a side missing carries 0 on that side, which the aggregator treats as
withdrawn, as it does a crossed quote."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from execution.fix import wire
from execution.fix.links import Link
from execution.inbox import LpQuote

_ZERO = Decimal(0)
_BID, _OFFER = "0", "1"
_DELETE = "2"


@dataclass(slots=True)
class QuoteUpdate:
    quotes: list[LpQuote] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _emit(link: Link, symbol: str, now_ns: int, out: QuoteUpdate) -> None:
    bid, ask = link.quotes[symbol]
    out.quotes.append(LpQuote(link.lp, symbol, bid or _ZERO, ask or _ZERO, now_ns))


def on_market_data(link: Link, msg_type: str, raw: str, now_ns: int) -> QuoteUpdate:
    out = QuoteUpdate()
    top_symbol, entries = wire.md_entries(raw)
    touched: list[str] = []
    for entry in entries:
        lp_symbol = entry.symbol or top_symbol
        symbol = link.symbol_of.get(lp_symbol or "")
        if symbol is None:
            out.problems.append(f"{link.lp}: quote for unknown symbol {lp_symbol!r}")
            continue
        if entry.kind not in (_BID, _OFFER):
            continue  # trades, highs, lows: not top of book
        quote = link.quotes.get(symbol)
        if quote is None:
            quote = link.quotes[symbol] = [None, None]
        side = 0 if entry.kind == _BID else 1
        if msg_type == "W" and symbol not in touched:
            quote[0] = quote[1] = None  # a snapshot replaces the whole book
        if entry.action == _DELETE:
            quote[side] = None
        elif entry.price is None or entry.price <= 0:
            out.problems.append(f"{link.lp}: {symbol} entry without a usable price")
            quote[side] = None
        else:
            quote[side] = entry.price
        if symbol not in touched:
            touched.append(symbol)
    if msg_type == "W" and not entries and top_symbol is not None:
        symbol = link.symbol_of.get(top_symbol)
        if symbol is not None:  # an empty snapshot: the LP has no price
            link.quotes[symbol] = [None, None]
            touched.append(symbol)
    for symbol in touched:
        _emit(link, symbol, now_ns, out)
    return out


def on_request_reject(link: Link, values: dict[int, str], now_ns: int) -> QuoteUpdate:
    out = QuoteUpdate()
    req_id = values.get(wire.MD_REQ_ID, "")
    symbol = link.md_requests.get(req_id)
    reason = values.get(wire.MD_REQ_REJ_REASON, "?")
    text = values.get(wire.TEXT, "")
    out.problems.append(
        f"{link.lp}: market data request {req_id!r} ({symbol}) rejected: reason {reason} {text}"
    )
    if symbol is not None:
        link.quotes[symbol] = [None, None]
        _emit(link, symbol, now_ns, out)
    return out
