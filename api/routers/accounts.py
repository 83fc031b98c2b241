"""The caller's accounts: summary, positions, orders, deals, statement (reads only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.accounts import CURSOR_PATTERN
from api.deps import PeriodQuery, ReadableAccount, Reader, ResourceId, ServicesDep
from api.errors import ERROR_RESPONSES
from api.portfolio import valuation
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
    str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page.")
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
    summary="Balance, credit, equity, margin, free margin, margin level",
)
async def summary(services: ServicesDep, account: ReadableAccount) -> AccountSummary:
    _, _, result = await valuation(services.accounts, services.market, services.redis, account)
    return result


@router.get("/{account_id}/positions", response_model=list[Position], summary="Open positions")
async def positions(services: ServicesDep, account: ReadableAccount) -> list[Position]:
    _, listed, _ = await valuation(services.accounts, services.market, services.redis, account)
    return listed


@router.get("/{account_id}/orders", response_model=list[Order], summary="Working orders")
async def orders(services: ServicesDep, account: ReadableAccount) -> list[Order]:
    return await services.accounts.orders(account.id, working=True)


@router.get("/{account_id}/orders/{order_id}", response_model=Order, summary="One order")
async def order(services: ServicesDep, account: ReadableAccount, order_id: ResourceId) -> Order:
    return await services.accounts.order(account.id, order_id)


@router.get("/{account_id}/deals", response_model=DealPage, summary="Deal history, paged")
async def deals(
    services: ServicesDep,
    account: ReadableAccount,
    period: PeriodQuery,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> DealPage:
    return await services.accounts.deals(account.id, period.start, period.end, limit, cursor)


@router.get("/{account_id}/statement", response_model=Statement, summary="Account statement")
async def statement(
    services: ServicesDep,
    account: ReadableAccount,
    period: PeriodQuery,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Statement:
    start, end = period.start, period.end
    totals = await services.accounts.deal_totals(account.id, start, end)
    balance, credit = await services.accounts.money(account.id)
    page = await services.accounts.deals(account.id, start, end, limit, cursor)
    net = totals["profit"] + totals["commission"] + totals["swap"] + totals["fee"]
    return Statement(
        account_id=account.id,
        currency=account.currency,
        start=start,
        end=end,
        net=net,
        balance=balance,
        credit=credit,
        deals=page,
        **totals,
    )
