"""The conversion rule between two of a client's wallets, pure: the mid rate of a currency pair
from the execution service's prices, and what the client gets for an amount at that rate less
the brand's markup.

Rates are kept as ``fx_quotes`` keeps them (12 decimals) and every figure is computed from the
kept ones, so the stored quote reproduces exactly. Money rounds down, the broker never pays a
fraction of a minor unit it does not have: the client's buy amount is the sell amount at the
client's rate rounded down to the buy currency's digits, and the revenue is the same amount at
the mid rate, rounded down, less what the client gets (never negative, the client's rate being
at most the mid).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, localcontext

# fx_quotes.mid_rate and rate: numeric(24, 12)
RATE_SCALE = Decimal("1E-12")
# every pair not quoted directly goes through the dollar
VIA = "USD"
# wide enough for any money_amount times any rate, exactly
_EXACT = Context(prec=80)


@dataclass(frozen=True, slots=True)
class Conversion:
    sell: Decimal  # in the sell currency
    mid_rate: Decimal  # buy currency per sell currency, at the mid
    markup: Decimal  # the brand's, a fraction of the mid
    rate: Decimal  # the client's: mid * (1 - markup), rounded down to RATE_SCALE
    buy: Decimal  # what the client gets, in the buy currency
    revenue: Decimal  # the brand's, in the buy currency


def convert(sell: Decimal, mid_rate: Decimal, markup: Decimal, buy_digits: int) -> Conversion:
    """What ``sell`` buys at ``mid_rate`` (buy currency per sell currency) less ``markup``,
    in minor units of ``buy_digits`` decimals. Raises ValueError on figures no quote has (the
    caller refuses them first)."""
    if not sell.is_finite() or sell <= 0:
        raise ValueError(f"a conversion sells a positive amount, not {sell}")
    if not mid_rate.is_finite() or mid_rate <= 0 or mid_rate != mid_rate.quantize(RATE_SCALE):
        raise ValueError(f"a mid rate is positive with at most 12 decimals, not {mid_rate}")
    if not markup.is_finite() or not 0 <= markup < 1:
        raise ValueError(f"a markup is a fraction from 0 to below 1, not {markup}")
    unit = Decimal(1).scaleb(-buy_digits)
    with localcontext(_EXACT):
        rate = (mid_rate * (1 - markup)).quantize(RATE_SCALE, ROUND_DOWN)
        buy = (sell * rate).quantize(unit, ROUND_DOWN)
        at_mid = (sell * mid_rate).quantize(unit, ROUND_DOWN)
    return Conversion(sell, mid_rate, markup, rate, buy, at_mid - buy)


def mid(bid: Decimal, ask: Decimal) -> Decimal:
    with localcontext(_EXACT):
        return (bid + ask) / 2


def symbols_for(sell: str, buy: str) -> list[str]:
    """Every symbol :func:`mid_rate` may take a rate from ``sell`` to ``buy`` from."""
    wanted = [f"{sell}{buy}", f"{buy}{sell}"]
    if VIA not in (sell, buy):
        wanted += [f"{sell}{VIA}", f"{VIA}{sell}", f"{VIA}{buy}", f"{buy}{VIA}"]
    return wanted


def mid_rate(prices: Mapping[str, tuple[Decimal, Decimal]], sell: str, buy: str) -> Decimal | None:
    """Units of ``buy`` per unit of ``sell`` at the mid, at 12 decimals (half even), from
    ``prices`` (symbol -> bid, ask; only live ones): the pair's own symbol (EURUSD for EUR to
    USD), its inverse (USDJPY for JPY to USD), or a cross through the dollar (EURUSD and USDJPY
    for EUR to JPY). None when the prices give no way."""
    if sell == buy:
        return None
    with localcontext(_EXACT):
        found = _direct(prices, sell, buy)
        if found is None and VIA not in (sell, buy):
            out, back = _direct(prices, sell, VIA), _direct(prices, VIA, buy)
            found = None if out is None or back is None else out * back
        return None if found is None else found.quantize(RATE_SCALE, ROUND_HALF_EVEN)


def _direct(prices: Mapping[str, tuple[Decimal, Decimal]], sell: str, buy: str) -> Decimal | None:
    """The unrounded mid of ``sell`` in ``buy`` from one symbol, either way round."""
    for symbol, inverse in _ways(sell, buy):
        quoted = prices.get(symbol)
        if quoted is not None and quoted[0] > 0 and quoted[1] > 0:
            price = mid(*quoted)
            return 1 / price if inverse else price
    return None


def _ways(sell: str, buy: str) -> Iterator[tuple[str, bool]]:
    yield f"{sell}{buy}", False
    yield f"{buy}{sell}", True
