"""Reference and market data: instruments with their trading sessions, last client prices,
and candles from the warehouse."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from api.errors import not_found
from api.margin import InstrumentSpec
from api.schemas import Candle, Instrument, TradingSession
from warehouse.candles import Timeframe, read_candles

_INSTRUMENTS_SQL = """
    SELECT id, symbol, description, asset_class, digits, contract_size, base_currency,
           profit_currency, margin_currency, margin_calc_mode, margin_rate_long,
           margin_rate_short, hedged_margin_mode, hedged_margin_rate, tick_size, tick_value,
           min_volume, max_volume, volume_step, retail_max_leverage
    FROM instruments WHERE enabled ORDER BY symbol
"""
_SESSIONS_SQL = """
    SELECT instrument_id, kind, weekday, opens, closes, time_zone
    FROM trading_sessions ORDER BY instrument_id, kind, weekday, opens
"""
MAX_CANDLES = 10_000


class Market:
    def __init__(
        self, pool: AsyncConnectionPool, candle_pool: ConnectionPool, cache_seconds: float = 60.0
    ) -> None:
        self._pool = pool
        self._candle_pool = candle_pool
        # Reference data changes by operator action, rarely: one read a minute per process.
        self._cache_seconds = cache_seconds
        self._loaded_at = float("-inf")
        self._instruments: dict[str, Instrument] = {}
        self._specs: dict[str, InstrumentSpec] = {}
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
            self._instruments = {
                r["symbol"]: Instrument.model_validate(
                    {**r, "sessions": by_instrument.get(r["id"], [])}
                )
                for r in rows
            }
            self._specs = {r["symbol"]: _spec(r) for r in rows}
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

    async def specs(self) -> dict[str, InstrumentSpec]:
        await self._refresh()
        return self._specs

    async def candles(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime, source: str
    ) -> list[Candle]:
        await self.instrument(symbol)

        def read() -> list[Candle]:
            with self._candle_pool.connection() as conn:
                found = read_candles(conn, symbol, timeframe, start, end, source)
            return [Candle.model_validate(c, from_attributes=True) for c in found[:MAX_CANDLES]]

        return await asyncio.to_thread(read)


def _spec(row: dict[str, Any]) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=row["symbol"],
        contract_size=row["contract_size"],
        margin_calc_mode=row["margin_calc_mode"],
        margin_rate_long=row["margin_rate_long"],
        margin_rate_short=row["margin_rate_short"],
        profit_currency=row["profit_currency"],
        margin_currency=row["margin_currency"],
        tick_size=row["tick_size"],
        tick_value=row["tick_value"],
        retail_max_leverage=row["retail_max_leverage"],
        hedged_margin_mode=row["hedged_margin_mode"],
        hedged_margin_rate=row["hedged_margin_rate"],
    )
