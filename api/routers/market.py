"""Instruments and their trading sessions, last prices, candles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api import quotes as quotes_of
from api.deps import PeriodQuery, Reader, ServicesDep
from api.errors import ERROR_RESPONSES
from api.market import MAX_CANDLES
from api.paging import CANDLE_CURSOR_PATTERN, Page
from api.schemas import ID_MAX, CandlePage, Instrument, Quote, Symbol
from warehouse.candles import Timeframe

router = APIRouter(prefix="/v1", tags=["market"], responses=ERROR_RESPONSES)

SymbolPath = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,31}$")]
# Candles are small and charts want many: pages up to the 10,000 one answer used to hold.
CandleLimit = Annotated[int, Query(ge=1, le=MAX_CANDLES)]
CandleCursor = Annotated[
    str | None,
    Query(pattern=CANDLE_CURSOR_PATTERN, description="next_cursor of the previous page."),
]
AccountQuery = Annotated[
    int | None,
    Query(ge=1, le=ID_MAX, description="Price for this account's group (default: your first)."),
]


@router.get("/instruments", response_model=list[Instrument], summary="Tradable instruments")
async def instruments(services: ServicesDep, _: Reader) -> list[Instrument]:
    return await services.market.instruments()


@router.get("/instruments/{symbol}", response_model=Instrument, summary="One instrument")
async def instrument(services: ServicesDep, _: Reader, symbol: SymbolPath) -> Instrument:
    return await services.market.instrument(symbol)


async def _group(services: ServicesDep, principal: Reader, account_id: int | None) -> str:
    if account_id is not None:
        return (await services.accounts.get(principal, account_id)).group
    owned = await services.accounts.owned(principal)
    return next(iter(owned.values())).group if owned else ""


@router.get("/quotes", response_model=list[Quote], summary="Last prices (your group's)")
async def quotes(
    services: ServicesDep,
    principal: Reader,
    symbols: Annotated[list[Symbol] | None, Query(max_length=100)] = None,
    account_id: AccountQuery = None,
) -> list[Quote]:
    group = await _group(services, principal, account_id)
    max_age = services.settings.quote_max_age_ns
    return await quotes_of.group_quotes(services.market, services.redis, group, symbols, max_age)


@router.get("/candles/{symbol}", response_model=CandlePage, summary="Bid/ask candles, paged")
async def candles(
    services: ServicesDep,
    principal: Reader,
    symbol: SymbolPath,
    period: PeriodQuery,
    timeframe: Timeframe = "1m",
    account_id: AccountQuery = None,
    limit: CandleLimit = 1000,
    cursor: CandleCursor = None,
) -> CandlePage:
    group = await _group(services, principal, account_id)
    return await services.market.candles(
        symbol, timeframe, period.start, period.end, f"client:{group}", Page(limit, cursor)
    )
