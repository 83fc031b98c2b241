"""EMIR REFIT events of a trading day: each live CFD leg's opening, modifications and
termination from the day's deals, and a valuation of each leg open at the cut.

The broker is counterparty 1 (its brand's LEI) and reports its own side: a client's buy is
the broker's sale. The client, a natural person without an LEI, is counterparty 2 under one
code for all their accounts; its country is the client's residence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from pipelines.partitions import TradingDay
from pipelines.regulatory.legs import Deal, Leg, LegError, LegEvent, replay
from pipelines.regulatory.records import Brand, Event, is_isin

FIELDS = (
    "uti", "prior_uti", "counterparty_1", "counterparty_2", "counterparty_2_country",
    "direction", "cfi", "contract_type", "asset_class", "underlying_type", "underlying",
    "settlement_currency", "execution_timestamp", "effective_date", "termination_date",
    "quantity", "notional", "notional_currency", "price", "price_currency", "venue",
    "event_type", "event_timestamp", "valuation_amount", "valuation_currency",
    "valuation_timestamp", "valuation_type", "level",
)  # fmt: skip
ASSET_CLASSES = {
    "forex": "CURR",
    "metal": "COMM",
    "commodity": "COMM",
    "index": "EQUI",
    "equity": "EQUI",
    "crypto": "CURR",  # REFIT has no crypto class; a currency-like underlying is the nearest
}
EVENT_TYPES = {"NEWT": "TRAD", "MODI": "TRAD", "TERM": "ETRM"}


def uti(lei: str, opening_deal_id: int) -> str:
    """A leg's UTI: the broker's LEI and the deal that opened the leg (42 of 52 characters)."""
    return f"{lei}BS{opening_deal_id:020d}"


def client_code(client_id: int) -> str:
    """Counterparty 2's code: one per client, whichever account traded."""
    return f"BSCLIENT{client_id:012d}"


@dataclass(frozen=True, slots=True)
class Contract:
    """What a position's legs share: who trades what."""

    position_id: int
    brand: Brand
    client_id: int
    client_country: str
    account_currency: str
    symbol: str
    cfi_code: str | None
    asset_class: str
    underlying_id: str | None
    base_currency: str
    profit_currency: str
    contract_size: Decimal
    digits: int


@dataclass(frozen=True, slots=True)
class Valuation:
    volume: Decimal
    open_price: Decimal
    profit: Decimal  # the client's, in the account's currency


def derive(conn: psycopg.Connection[Any], day: TradingDay) -> list[Event]:
    """Every EMIR event of the day, all brands, in reporting order."""
    window = {"start": day.start, "end": day.end, "cut": day.cut}
    histories: dict[int, list[Deal]] = defaultdict(list)
    for pid, *deal in conn.execute(_DEALS, window).fetchall():
        histories[pid].append(Deal(*deal))
    valuations = {
        pid: Valuation(volume, price, profit)
        for pid, volume, price, profit in conn.execute(_STATEMENTS, window).fetchall()
    }
    ids = sorted(set(histories) | set(valuations))
    contracts = {row[0]: _contract(row) for row in conn.execute(_CONTRACTS, {"ids": ids})}
    trades: list[tuple[datetime, int, int, Event]] = []
    valued: list[Event] = []
    for pid in ids:
        contract = contracts[pid]
        leg_events, open_leg = replay(histories.get(pid, []))
        for n, le in enumerate(leg_events):
            if day.start <= le.deal.executed_at < day.end:
                trades.append((le.deal.executed_at, le.deal.id, n, _trade(contract, le)))
        valuation = valuations.get(pid)
        if valuation is None:
            continue
        if open_leg is None:
            raise LegError(f"position {pid} is valued at the cut but its deals leave none open")
        valued.append(_valuation(contract, open_leg, valuation, day))
    return [event for *_, event in sorted(trades, key=lambda t: t[:3])] + valued


def _trade(c: Contract, le: LegEvent) -> Event:
    leg = le.leg
    identifier = uti(c.brand.lei, leg.opening_deal_id)
    price = leg.price(c.digits)
    key = {
        "NEWT": f"NEWT:{identifier}",
        "MODI": f"MODI:{identifier}:{le.deal.id}",
        "TERM": f"TERM:{identifier}",
    }[le.action]
    fields = _common(c, leg, identifier, leg.volume, price) | {
        "prior_uti": uti(c.brand.lei, le.prior_deal_id) if le.prior_deal_id else "",
        "termination_date": le.deal.executed_at.date().isoformat() if le.action == "TERM" else "",
        "event_type": EVENT_TYPES[le.action],
        "event_timestamp": timestamp(le.deal.executed_at),
    }
    return Event(key, identifier, le.action, c.brand, _ordered(fields))


def _valuation(c: Contract, leg: Leg, v: Valuation, day: TradingDay) -> Event:
    identifier = uti(c.brand.lei, leg.opening_deal_id)
    fields = _common(c, leg, identifier, v.volume, v.open_price) | {
        "valuation_amount": _decimal(-v.profit),  # the broker's view: the client's loss
        "valuation_currency": c.account_currency,
        "valuation_timestamp": timestamp(day.cut),
        "valuation_type": "MTMA",
    }
    key = f"VALU:{identifier}:{day.trade_date.isoformat()}"
    return Event(key, identifier, "VALU", c.brand, _ordered(fields))


def _common(
    c: Contract, leg: Leg, identifier: str, volume: Decimal, price: Decimal
) -> dict[str, str]:
    if not c.cfi_code:
        raise ValueError(f"{c.symbol} has no CFI code: set instruments.cfi_code before reporting")
    quantity = volume * c.contract_size
    underlying_type, underlying = _underlying(c)
    return {
        "uti": identifier,
        "counterparty_1": c.brand.lei,
        "counterparty_2": client_code(c.client_id),
        "counterparty_2_country": c.client_country,
        "direction": "SLLR" if leg.side == "BUY" else "BYER",
        "cfi": c.cfi_code,
        "contract_type": "CFDS",
        "asset_class": ASSET_CLASSES[c.asset_class],
        "underlying_type": underlying_type,
        "underlying": underlying,
        "settlement_currency": c.account_currency,
        "execution_timestamp": timestamp(leg.opened_at),
        "effective_date": leg.opened_at.date().isoformat(),
        "quantity": _decimal(quantity),
        "notional": _decimal(quantity * price),
        "notional_currency": c.profit_currency,
        "price": _decimal(price),
        "price_currency": c.profit_currency,
        "venue": "XXXX",  # off venue: the broker is the market
        "level": "TCTN",
    }


def _underlying(c: Contract) -> tuple[str, str]:
    if c.underlying_id is not None and is_isin(c.underlying_id):
        return "ISIN", c.underlying_id
    if c.underlying_id is not None:
        return "INDX", c.underlying_id
    return "OTHR", f"{c.base_currency}{c.profit_currency}"


def _ordered(fields: dict[str, str]) -> dict[str, str]:
    return {name: fields.get(name, "") for name in FIELDS}


def timestamp(at: datetime) -> str:
    """ISO 8601 in UTC to the second, as REFIT reports times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal(value: Decimal) -> str:
    """A plain decimal (no exponent, no trailing zeros) so equal amounts hash alike."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _contract(row: tuple[Any, ...]) -> Contract:
    (pid, currency, client_id, country, brand_id, brand_code, lei, symbol, cfi, asset_class,
     underlying_id, base, profit, contract_size, digits) = row  # fmt: skip
    if not lei:
        raise ValueError(f"brand {brand_code} has no LEI: set brands.lei before reporting")
    return Contract(
        pid, Brand(brand_id, brand_code, lei), client_id, country, currency, symbol, cfi,
        asset_class, underlying_id, base, profit, contract_size, digits,
    )  # fmt: skip


# Every deal of each live position traded in the window or open at its cut, up to the cut:
# the legs' state at the day's start comes from replaying what came before.
_DEALS = """
WITH touched AS (
    SELECT d.position_id FROM deals d
    JOIN trading_accounts a ON a.id = d.trading_account_id
    WHERE d.executed_at >= %(start)s AND d.executed_at < %(end)s
      AND a.kind = 'live' AND d.position_id IS NOT NULL
    UNION
    SELECT s.position_id FROM position_statements s
    JOIN trading_accounts a ON a.id = s.trading_account_id
    WHERE s.cut = %(cut)s AND a.kind = 'live'
)
SELECT d.position_id, d.id, d.executed_at, d.side, d.entry, d.volume, d.price
FROM deals d JOIN touched t ON t.position_id = d.position_id
WHERE d.executed_at < %(end)s
ORDER BY d.position_id, d.executed_at, d.id
"""
_STATEMENTS = """
SELECT s.position_id, s.volume, s.open_price, s.profit FROM position_statements s
JOIN trading_accounts a ON a.id = s.trading_account_id
WHERE s.cut = %(cut)s AND a.kind = 'live'
  AND s.profit IS NOT NULL  -- unquoted at the cut: nothing to value it with
"""
_CONTRACTS = """
SELECT p.id, a.currency, c.id, c.country, b.id, b.code, b.lei, i.symbol, i.cfi_code,
       i.asset_class, i.underlying_id, i.base_currency, i.profit_currency, i.contract_size,
       i.digits
FROM positions p
JOIN trading_accounts a ON a.id = p.trading_account_id
JOIN clients c ON c.id = a.client_id
JOIN brands b ON b.id = c.brand_id
JOIN instruments i ON i.id = p.instrument_id
WHERE p.id = ANY(%(ids)s)
"""
