"""Account state seen by a client: floating P/L, equity, margin, free margin, margin level.

The contracts offer no account-state query, so the api values the journaled open positions
(warehouse) at the last published client prices (Redis), in exact Decimal, with the MT5 margin
modes of domain.md. The execution service's margin monitor stays the authority for margin
calls and stop-outs; this is the client's view and can lag it by one price.

Conventions: buys are valued at the bid and margined at the ask, sells the other way round;
a currency converts through the direct pair (at its bid) or the inverse pair (1 / its ask).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from execution.contracts import Side

CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    symbol: str
    contract_size: Decimal
    margin_calc_mode: str
    margin_rate_long: Decimal
    margin_rate_short: Decimal
    profit_currency: str
    margin_currency: str
    tick_size: Decimal
    tick_value: Decimal
    retail_max_leverage: int
    hedged_margin_mode: str
    hedged_margin_rate: Decimal


@dataclass(frozen=True, slots=True)
class OpenPosition:
    symbol: str
    side: Side
    volume: Decimal
    open_price: Decimal
    swap: Decimal


@dataclass(frozen=True, slots=True)
class Price:
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class AccountTerms:
    currency: str
    balance: Decimal
    credit: Decimal
    leverage: int
    retail: bool


@dataclass(frozen=True, slots=True)
class Valuation:
    floating_profit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal | None
    unpriced_symbols: tuple[str, ...]
    profits: tuple[Decimal | None, ...]  # per position, in the order given


Prices = Callable[[str], Price | None]


def conversion(currency: str, target: str, prices: Prices) -> Decimal | None:
    """How many ``target`` one unit of ``currency`` is worth now, or None without a price."""
    if currency == target:
        return Decimal(1)
    direct = prices(currency + target)
    if direct is not None:
        return direct.bid
    inverse = prices(target + currency)
    if inverse is not None and inverse.ask > 0:
        return Decimal(1) / inverse.ask
    return None


def position_profit(
    position: OpenPosition, spec: InstrumentSpec, price: Price, rate: Decimal
) -> Decimal:
    """Floating P/L in the deposit currency, swap included (``rate``: profit -> deposit)."""
    if position.side is Side.BUY:
        move = price.bid - position.open_price
    else:
        move = position.open_price - price.ask
    return move * spec.contract_size * position.volume * rate + position.swap


def position_margin(
    side: Side, volume: Decimal, spec: InstrumentSpec, price: Price, leverage: int
) -> Decimal:
    """Margin in the instrument's margin currency (domain.md, MT5 calculation modes)."""
    market = price.ask if side is Side.BUY else price.bid
    rate = spec.margin_rate_long if side is Side.BUY else spec.margin_rate_short
    notional = volume * spec.contract_size
    mode = spec.margin_calc_mode
    if mode == "FOREX":
        return notional / leverage * rate
    if mode == "FOREX_NO_LEVERAGE":
        return notional * rate
    if mode == "CFD":
        return notional * market * rate
    if mode == "CFDLEVERAGE":
        return notional * market / leverage * rate
    if mode == "CFDINDEX":
        return notional * market * spec.tick_value / spec.tick_size * rate
    raise ValueError(f"unknown margin mode {mode}")


def _hedged(
    buy: Decimal, sell: Decimal, buy_lots: Decimal, sell_lots: Decimal, spec: InstrumentSpec
) -> Decimal:
    if spec.hedged_margin_mode == "full" or not buy_lots or not sell_lots:
        return buy + sell
    if spec.hedged_margin_mode == "larger_leg":
        return max(buy, sell)
    overlap = min(buy_lots, sell_lots)
    per_buy, per_sell = buy / buy_lots, sell / sell_lots
    single = (buy_lots - overlap) * per_buy + (sell_lots - overlap) * per_sell
    return single + overlap * (per_buy + per_sell) * spec.hedged_margin_rate


def value_account(
    terms: AccountTerms,
    positions: Iterable[OpenPosition],
    specs: Mapping[str, InstrumentSpec],
    prices: Prices,
) -> Valuation:
    listed = list(positions)
    unpriced: set[str] = set()
    profits: list[Decimal | None] = []
    floating = ZERO
    sides: dict[str, dict[Side, list[Decimal]]] = defaultdict(
        lambda: {Side.BUY: [ZERO, ZERO], Side.SELL: [ZERO, ZERO]}
    )
    for position in listed:
        spec = specs.get(position.symbol)
        price = prices(position.symbol)
        profit_rate = conversion(spec.profit_currency, terms.currency, prices) if spec else None
        margin_rate = conversion(spec.margin_currency, terms.currency, prices) if spec else None
        if spec is None or price is None or profit_rate is None or margin_rate is None:
            unpriced.add(position.symbol)
            profits.append(None)
            continue
        profit = position_profit(position, spec, price, profit_rate)
        profits.append(profit.quantize(CENT, ROUND_HALF_UP))
        floating += profit
        leverage = min(terms.leverage, spec.retail_max_leverage) if terms.retail else terms.leverage
        margin = position_margin(position.side, position.volume, spec, price, leverage)
        leg = sides[position.symbol][position.side]
        leg[0] += margin * margin_rate
        leg[1] += position.volume
    margin_total = ZERO
    for symbol, legs in sides.items():
        (buy, buy_lots), (sell, sell_lots) = legs[Side.BUY], legs[Side.SELL]
        margin_total += _hedged(buy, sell, buy_lots, sell_lots, specs[symbol])
    floating = floating.quantize(CENT, ROUND_HALF_UP)
    margin_total = margin_total.quantize(CENT, ROUND_HALF_UP)
    equity = terms.balance + terms.credit + floating
    level = (equity * 100 / margin_total).quantize(CENT, ROUND_HALF_UP) if margin_total else None
    return Valuation(
        floating_profit=floating,
        equity=equity,
        margin=margin_total,
        free_margin=equity - margin_total,
        margin_level=level,
        unpriced_symbols=tuple(sorted(unpriced)),
        profits=tuple(profits),
    )
