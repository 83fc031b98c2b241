"""Trading commands: translate api requests into execution contracts, send them, and turn the
reply into a result or the one error body.

Every command's request id comes from the client's idempotency key when it sends one
(``client_order_id`` or ``Idempotency-Key`` for a place, ``Idempotency-Key`` for the rest; see
:mod:`api.idempotency`), so a retry is answered with the first result instead of acting
twice, and the same key on a different request is ``409 idempotency_conflict``.
"""

from __future__ import annotations

import uuid

from msgspec import UNSET, UnsetType

from api.accounts import OwnedAccount
from api.errors import invalid, rejected
from api.execution_client import ExecutionClient
from api.idempotency import Operation, place_request_id, request_id
from api.schemas import (
    ClosePositionRequest,
    ModifyOrderRequest,
    ModifyPositionRequest,
    PlaceOrderRequest,
    TradeResult,
)
from brokerstack.times import to_ns
from execution import contracts

_KEY = "Idempotency-Key"


async def _send(
    client: ExecutionClient,
    command: contracts.Command,
    retry_hint: str = _KEY,
    client_order_id: str | None = None,
) -> TradeResult:
    reply = await client.send(command, retry_hint)
    if isinstance(reply, contracts.Rejected):
        raise rejected(reply.code, reply.message, reply.request_id)
    return TradeResult(
        request_id=reply.request_id,
        client_order_id=client_order_id,
        order_id=reply.order_id,
        position_id=reply.position_id,
        deal_ids=list(reply.deal_ids),
        state=reply.state,
    )


async def place_order(
    client: ExecutionClient, account: OwnedAccount, body: PlaceOrderRequest, key: str | None
) -> TradeResult:
    if key is not None and body.client_order_id not in (None, key):
        raise invalid(_KEY, "header", "differs from client_order_id: send one, or the same")
    client_order_id = body.client_order_id or key or uuid.uuid4().hex
    command = contracts.PlaceOrder(
        request_id=place_request_id(account.id, client_order_id),
        account_id=account.id,
        symbol=body.symbol,
        side=body.side,
        volume=body.volume,
        type=body.type,
        price=body.price,
        sl=body.sl,
        tp=body.tp,
        tif=body.tif,
        expires_at=None if body.expires_at is None else to_ns(body.expires_at),
        position_id=body.position_id,
        comment=body.comment,
    )
    return await _send(client, command, "client order id", client_order_id)


async def modify_order(
    client: ExecutionClient,
    account: OwnedAccount,
    order_id: int,
    body: ModifyOrderRequest,
    key: str | None,
) -> TradeResult:
    sent = body.model_fields_set  # what is not sent stays as it is
    expires_at: int | UnsetType | None = UNSET
    if "expires_at" in sent:
        expires_at = None if body.expires_at is None else to_ns(body.expires_at)
    command = contracts.ModifyOrder(
        request_id=request_id(account.id, Operation.MODIFY_ORDER, key),
        account_id=account.id,
        order_id=order_id,
        price=UNSET if body.price is None else body.price,
        sl=body.sl if "sl" in sent else UNSET,
        tp=body.tp if "tp" in sent else UNSET,
        expires_at=expires_at,
    )
    return await _send(client, command)


async def cancel_order(
    client: ExecutionClient, account: OwnedAccount, order_id: int, key: str | None
) -> TradeResult:
    command = contracts.CancelOrder(
        request_id=request_id(account.id, Operation.CANCEL, key),
        account_id=account.id,
        order_id=order_id,
    )
    return await _send(client, command)


async def close_position(
    client: ExecutionClient,
    account: OwnedAccount,
    position_id: int,
    body: ClosePositionRequest,
    key: str | None,
) -> TradeResult:
    command = contracts.ClosePosition(
        request_id=request_id(account.id, Operation.CLOSE, key),
        account_id=account.id,
        position_id=position_id,
        volume=body.volume,
    )
    return await _send(client, command)


async def modify_position(
    client: ExecutionClient,
    account: OwnedAccount,
    position_id: int,
    body: ModifyPositionRequest,
    key: str | None,
) -> TradeResult:
    sent = body.model_fields_set
    command = contracts.ModifyPosition(
        request_id=request_id(account.id, Operation.MODIFY_POSITION, key),
        account_id=account.id,
        position_id=position_id,
        sl=body.sl if "sl" in sent else UNSET,
        tp=body.tp if "tp" in sent else UNSET,
    )
    return await _send(client, command)
