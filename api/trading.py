"""Trading commands: translate api requests into execution contracts, send them, and turn the
reply into a result or the one error body.

A place with a client order id becomes a command whose request id is derived from it, so a
retry (after a timeout, a dropped connection, a crash of this process) is answered by the
execution service with the first reply instead of a second order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from msgspec import UNSET

from api.accounts import OwnedAccount, place_request_id
from api.errors import rejected
from api.execution_client import ExecutionClient
from api.schemas import (
    ClosePositionRequest,
    ModifyOrderRequest,
    ModifyPositionRequest,
    PlaceOrderRequest,
    TradeResult,
)
from execution import contracts

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


def _fresh_request_id() -> str:
    return f"rq:{uuid.uuid4().hex}"


async def _send(
    client: ExecutionClient, command: contracts.Command, client_order_id: str | None = None
) -> TradeResult:
    reply = await client.send(command)
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
    client: ExecutionClient, account: OwnedAccount, body: PlaceOrderRequest
) -> TradeResult:
    client_order_id = body.client_order_id or uuid.uuid4().hex
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
        expires_at=_ns(body.expires_at),
        position_id=body.position_id,
        comment=body.comment,
    )
    return await _send(client, command, client_order_id)


async def modify_order(
    client: ExecutionClient, account: OwnedAccount, order_id: int, body: ModifyOrderRequest
) -> TradeResult:
    sent = body.model_fields_set  # what is not sent stays as it is
    command = contracts.ModifyOrder(
        request_id=_fresh_request_id(),
        account_id=account.id,
        order_id=order_id,
        price=UNSET if body.price is None else body.price,
        sl=body.sl if "sl" in sent else UNSET,
        tp=body.tp if "tp" in sent else UNSET,
        expires_at=_ns(body.expires_at) if "expires_at" in sent else UNSET,
    )
    return await _send(client, command)


async def cancel_order(
    client: ExecutionClient, account: OwnedAccount, order_id: int
) -> TradeResult:
    command = contracts.CancelOrder(
        request_id=_fresh_request_id(), account_id=account.id, order_id=order_id
    )
    return await _send(client, command)


async def close_position(
    client: ExecutionClient, account: OwnedAccount, position_id: int, body: ClosePositionRequest
) -> TradeResult:
    command = contracts.ClosePosition(
        request_id=_fresh_request_id(),
        account_id=account.id,
        position_id=position_id,
        volume=body.volume,
    )
    return await _send(client, command)


async def modify_position(
    client: ExecutionClient, account: OwnedAccount, position_id: int, body: ModifyPositionRequest
) -> TradeResult:
    sent = body.model_fields_set
    command = contracts.ModifyPosition(
        request_id=_fresh_request_id(),
        account_id=account.id,
        position_id=position_id,
        sl=body.sl if "sl" in sent else UNSET,
        tp=body.tp if "tp" in sent else UNSET,
    )
    return await _send(client, command)
