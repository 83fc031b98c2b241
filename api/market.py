"""Reference and market data: instruments with their trading sessions, last client prices,
and candles from the warehouse, a page at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from api.errors import not_found
from api.formats import SymbolDigits, fixed, plain
from api.paging import Page, at_micros, micros
from api.schemas import Candle, CandlePage, Instrument, TradingSession
from warehouse.candles import Candle as StoredCandle
from warehouse.candles import Timeframe, read_candles

_INSTRUMENTS_SQL = """
    SELECT id, symbol, description, asset_class, digits, contract_size, base_currency,
           profit_currency, margin_currency, margin_calc_mode, tick_size, min_volume,
           max_volume, volume_step, enabled
    FROM instruments ORDER BY symbol
"""
_SESSIONS_SQL = """
    SELECT instrument_id, kind, weekday, opens, closes, time_zone
    FROM trading_sessions ORDER BY instrument_id, kind, weekday, opens
"""
MAX_CANDLES = 10_000  # per page
# Before the first read, and for a symbol the warehouse does not list: what NUMERIC keeps.
_UNKNOWN = SymbolDigits(price=10, volume=8)


class Market:
    def __init__(
        self, pool: AsyncConnectionPool, candle_pool: ConnectionPool, cache_seconds: float = 60.0
    ) -> None:
        self._pool = pool
        self._candle_pool = candle_pool
        # Reference data changes by operator action, rarely: one read a minute per process.
        self._cache_seconds = cache_seconds
        self._loaded_at = float("-inf")
        self._instruments: dict[str, Instrument] = {}  # enabled ones: what clients trade
        self._digits: dict[str, SymbolDigits] = {}  # all, disabled included (history shows them)
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        if time.monotonic() - self._loaded_at < self._cache_seconds:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at < self._cache_seconds:
                return
            async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(_INSTRUMENTS_SQL)
                rows = await cur.fetchall()
                await cur.execute(_SESSIONS_SQL)
                sessions = await cur.fetchall()
            by_instrument: dict[int, list[TradingSession]] = {}
            for s in sessions:
                by_instrument.setdefault(s.pop("instrument_id"), []).append(
                    TradingSession.model_validate(s)
                )
            self._digits = {
                r["symbol"]: SymbolDigits.of(r["digits"], r["volume_step"]) for r in rows
            }
            self._instruments = {
                r["symbol"]: _instrument(
                    r, self._digits[r["symbol"]], by_instrument.get(r["id"], [])
                )
                for r in rows
                if r["enabled"]
            }
            self._loaded_at = time.monotonic()

    async def instruments(self) -> list[Instrument]:
        await self._refresh()
        return list(self._instruments.values())

    async def instrument(self, symbol: str) -> Instrument:
        await self._refresh()
        found = self._instruments.get(symbol)
        if found is None:
            raise not_found("instrument", symbol)
        return found

    async def check_listed(self, symbols: Iterable[str]) -> None:
        """404 naming every symbol that is not a tradable instrument."""
        await self._refresh()
        unknown = [s for s in symbols if s not in self._instruments]
        if unknown:
            error = not_found("instrument", unknown[0])
            error.details["symbols"] = unknown
            raise error

    async def digits(self) -> Mapping[str, SymbolDigits]:
        """How each symbol's prices and volumes are written (see :meth:`digits_of`)."""
        await self._refresh()
        return self._digits

    async def digits_of(self, symbol: str) -> SymbolDigits:
        return (await self.digits()).get(symbol, _UNKNOWN)

    async def candles(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        source: str,
        page: Page,
    ) -> CandlePage:
        """One page of the source's candles, keyset-paged on the bucket (:mod:`api.paging`)."""
        await self.instrument(symbol)
        digits = (await self.digits_of(symbol)).price
        after = at_micros(int(page.cursor)) if page.cursor else None

        def read() -> list[StoredCandle]:
            with self._candle_pool.connection() as conn:
                return read_candles(
                    conn, symbol, timeframe, start, end, source, after=after, limit=page.limit + 1
                )

        found = await asyncio.to_thread(read)
        items = [_candle(c, digits) for c in found[: page.limit]]
        more = len(found) > page.limit  # the one read beyond the page says whether one follows
        return CandlePage(items=items, next_cursor=str(micros(items[-1].bucket)) if more else None)


def _instrument(
    row: dict[str, Any], digits: SymbolDigits, sessions: list[TradingSession]
) -> Instrument:
    volume = digits.volume
    return Instrument.model_validate(
        {
            **row,
            "contract_size": plain(row["contract_size"]),
            "tick_size": fixed(row["tick_size"], digits.price),
            "min_volume": fixed(row["min_volume"], volume),
            "max_volume": fixed(row["max_volume"], volume),
            "volume_step": fixed(row["volume_step"], volume),
            "sessions": sessions,
        }
    )


def _candle(candle: StoredCandle, digits: int) -> Candle:
    """Ticks are stored as float8: the shortest text of each float is the price it was."""

    def price(value: float) -> Decimal:
        return fixed(Decimal(repr(value)), digits)

    return Candle(
        bucket=candle.bucket,
        source=candle.source,
        bid_open=price(candle.bid_open),
        bid_high=price(candle.bid_high),
        bid_low=price(candle.bid_low),
        bid_close=price(candle.bid_close),
        ask_open=price(candle.ask_open),
        ask_high=price(candle.ask_high),
        ask_low=price(candle.ask_low),
        ask_close=price(candle.ask_close),
        tick_count=candle.tick_count,
    )
