"""Place, modify and cancel orders; close and modify positions (scope ``trade``)."""

from __future__ import annotations

from fastapi import APIRouter, status

from api import trading
from api.deps import IdempotencyKey, ResourceId, ServicesDep, TradableAccount
from api.errors import ERROR_RESPONSES
from api.schemas import (
    ClosePositionRequest,
    ModifyOrderRequest,
    ModifyPositionRequest,
    PlaceOrderRequest,
    TradeResult,
)

router = APIRouter(prefix="/v1/accounts", tags=["trading"], responses=ERROR_RESPONSES)


@router.post(
    "/{account_id}/orders",
    response_model=TradeResult,
    status_code=status.HTTP_201_CREATED,
    summary="Place an order (idempotent per client_order_id or Idempotency-Key)",
)
async def place_order(
    services: ServicesDep,
    account: TradableAccount,
    body: PlaceOrderRequest,
    key: IdempotencyKey = None,
) -> TradeResult:
    return await trading.place_order(services.execution, account, body, key)


@router.patch(
    "/{account_id}/orders/{order_id}", response_model=TradeResult, summary="Modify a pending order"
)
async def modify_order(
    services: ServicesDep,
    account: TradableAccount,
    order_id: ResourceId,
    body: ModifyOrderRequest,
    key: IdempotencyKey = None,
) -> TradeResult:
    return await trading.modify_order(services.execution, account, order_id, body, key)


@router.delete(
    "/{account_id}/orders/{order_id}", response_model=TradeResult, summary="Cancel a pending order"
)
async def cancel_order(
    services: ServicesDep,
    account: TradableAccount,
    order_id: ResourceId,
    key: IdempotencyKey = None,
) -> TradeResult:
    return await trading.cancel_order(services.execution, account, order_id, key)


@router.post(
    "/{account_id}/positions/{position_id}/close",
    response_model=TradeResult,
    summary="Close a position fully, or partly with a volume",
)
async def close_position(
    services: ServicesDep,
    account: TradableAccount,
    position_id: ResourceId,
    body: ClosePositionRequest | None = None,
    key: IdempotencyKey = None,
) -> TradeResult:
    request = body or ClosePositionRequest()
    return await trading.close_position(services.execution, account, position_id, request, key)


@router.patch(
    "/{account_id}/positions/{position_id}",
    response_model=TradeResult,
    summary="Set a position's stop loss / take profit",
)
async def modify_position(
    services: ServicesDep,
    account: TradableAccount,
    position_id: ResourceId,
    body: ModifyPositionRequest,
    key: IdempotencyKey = None,
) -> TradeResult:
    return await trading.modify_position(services.execution, account, position_id, body, key)
