"""The caller's accounts: summary, positions, orders, deals, statement (reads only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import valuation
from api.deps import PeriodQuery, ReadableAccount, Reader, ResourceId, ServicesDep
from api.errors import ERROR_RESPONSES, ErrorBody
from api.paging import DEAL_CURSOR_PATTERN, Page
from api.schemas import (
    Account,
    AccountSummary,
    DealPage,
    Order,
    Position,
    Statement,
)

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[
    str | None, Query(pattern=DEAL_CURSOR_PATTERN, description="next_cursor of the previous page.")
]


@router.get("", response_model=list[Account], summary="Your trading accounts")
async def accounts(services: ServicesDep, principal: Reader) -> list[Account]:
    return [a.public() for a in (await services.accounts.owned(principal)).values()]


@router.get("/{account_id}", response_model=Account, summary="One account")
async def account(account: ReadableAccount) -> Account:
    return account.public()


@router.get(
    "/{account_id}/summary",
    response_model=AccountSummary,
    summary="Balance, credit, equity, margin, free margin, margin level (as last valued)",
    responses={503: {"model": ErrorBody, "description": "Not valued yet; see Retry-After"}},
)
async def summary(services: ServicesDep, account: ReadableAccount) -> AccountSummary:
    return await valuation.summary(services.redis, account)


@router.get("/{account_id}/positions", response_model=list[Position], summary="Open positions")
async def positions(services: ServicesDep, account: ReadableAccount) -> list[Position]:
    return await valuation.positions(services.history, services.market, services.redis, account)


@router.get("/{account_id}/orders", response_model=list[Order], summary="Working orders")
async def orders(services: ServicesDep, account: ReadableAccount) -> list[Order]:
    return await services.history.orders(account, working=True)


@router.get("/{account_id}/orders/{order_id}", response_model=Order, summary="One order")
async def order(services: ServicesDep, account: ReadableAccount, order_id: ResourceId) -> Order:
    return await services.history.order(account, order_id)


@router.get("/{account_id}/deals", response_model=DealPage, summary="Deal history, paged")
async def deals(
    services: ServicesDep,
    account: ReadableAccount,
    period: PeriodQuery,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> DealPage:
    return await services.history.deals(account, period.start, period.end, Page(limit, cursor))


@router.get("/{account_id}/statement", response_model=Statement, summary="Account statement")
async def statement(
    services: ServicesDep,
    account: ReadableAccount,
    period: PeriodQuery,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Statement:
    page = Page(limit, cursor)
    return await services.history.statement(account, period.start, period.end, page)
