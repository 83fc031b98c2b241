"""``/v1/stream``: one WebSocket per client for quotes and account events.

Authenticate with ``Authorization: Bearer`` or ``X-API-Key`` headers, or (browsers cannot set
headers) ``?access_token=`` / ``?api_key=``. Then send JSON commands::

    {"action": "subscribe", "quotes": ["EURUSD"], "account_id": 12}
    {"action": "unsubscribe", "quotes": ["EURUSD"]}
    {"action": "subscribe", "events": [12]}

and receive ``{"type": "quote", ...}``, ``{"type": "event", "event": "order"|"deal"|
"position"|"balance"|"margin_call"|"stop_out", "account_id": ..., "data": {...}}``,
``{"type": "subscribed", ...}`` and ``{"type": "error", "error": {...}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError

from api.auth import Principal
from api.deps import Services
from api.errors import ApiError, validation_body
from api.schemas import ID_MAX, Symbol
from api.streams import SlowConsumer, Subscriber
from brokerstack.streams import ACCOUNT_EVENTS_CHANNEL, QUOTES_CHANNEL

router = APIRouter(tags=["stream"])

AUTH_FAILED = 4401
FORBIDDEN = 4403
UNSUPPORTED_DATA = 1003
TRY_AGAIN_LATER = 1013
MAX_QUOTES = 200


class StreamCommand(BaseModel):
    action: str = Field(pattern="^(subscribe|unsubscribe|ping)$")
    quotes: list[Symbol] = Field(default_factory=list, max_length=MAX_QUOTES)
    events: list[int] = Field(default_factory=list, max_length=100)
    account_id: int | None = Field(default=None, ge=1, le=ID_MAX)


def _error(error: ApiError) -> str:
    return json.dumps(
        {
            "type": "error",
            "error": {"code": error.code, "message": error.message, "details": error.details},
        }
    )


async def _authenticate(services: Services, socket: WebSocket) -> Principal:
    header = socket.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    token = token or socket.query_params.get("access_token")
    api_key = socket.headers.get("x-api-key") or socket.query_params.get("api_key")
    if api_key:
        principal = await services.auth.from_api_key(api_key)
    elif token:
        principal = services.auth.from_access_token(token)
    else:
        raise ApiError(401, "not_authenticated", "send a bearer token or an API key")
    if "read" not in principal.scopes:
        raise ApiError(403, "insufficient_scope", "streams need the read scope")
    return principal


@router.websocket("/v1/stream")
async def stream(socket: WebSocket) -> None:
    services: Services = socket.app.state.services
    await socket.accept()
    try:
        principal = await _authenticate(services, socket)
    except ApiError as error:
        await socket.send_text(_error(error))
        await socket.close(AUTH_FAILED if error.status == 401 else FORBIDDEN)
        return
    owned = await services.accounts.owned(principal)
    first_group = next(iter(owned.values())).group if owned else ""
    subscriber = Subscriber(first_group, services.settings.socket_event_backlog)
    sender = asyncio.create_task(_send(socket, subscriber))
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                await socket.close(UNSUPPORTED_DATA, "binary frames are not read; send JSON text")
                break
            await _handle(services, principal, subscriber, text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        await services.hub.leave(subscriber)


async def _handle(
    services: Services, principal: Principal, subscriber: Subscriber, raw: str
) -> None:
    try:
        command = StreamCommand.model_validate_json(raw)
    except ValidationError as error:
        body = validation_body(list(error.errors()))
        subscriber.push(json.dumps({"type": "error", **body}))
        return
    if command.action == "ping":
        subscriber.push('{"type":"pong"}')
        return
    try:
        channels = await _channels(services, principal, subscriber, command)
    except ApiError as error:
        subscriber.push(_error(error))
        return
    hub = services.hub
    for channel in channels:
        if command.action == "subscribe":
            await hub.subscribe(subscriber, channel)
        else:
            await hub.unsubscribe(subscriber, channel)
    reply: dict[str, Any] = {
        "type": f"{command.action}d",
        "quotes": command.quotes,
        "events": command.events,
    }
    subscriber.push(json.dumps(reply))
    if command.action == "subscribe":
        for symbol in command.quotes:
            subscriber.push(hub.state_message(symbol))


async def _channels(
    services: Services, principal: Principal, subscriber: Subscriber, command: StreamCommand
) -> list[str]:
    """The channels a command names, once all of it is checked (a refused command changes
    nothing, not even the group whose prices the socket gets)."""
    group = subscriber.group
    if command.account_id is not None:
        group = (await services.accounts.get(principal, command.account_id)).group
    if command.action == "subscribe":
        await services.market.check_listed(command.quotes)  # a typo is not a quiet market
    channels = [QUOTES_CHANNEL.format(symbol=s) for s in command.quotes]
    for account_id in command.events:
        account = await services.accounts.get(principal, account_id)  # 404 if not yours
        channels.append(ACCOUNT_EVENTS_CHANNEL.format(account_id=account.id))
    subscriber.group = group  # quotes in that account's group's prices from now on
    return channels


async def _send(socket: WebSocket, subscriber: Subscriber) -> None:
    try:
        while True:
            for text in await subscriber.next_batch():
                await socket.send_text(text)
    except SlowConsumer:
        with contextlib.suppress(Exception):
            await socket.close(TRY_AGAIN_LATER, "too slow for account events; re-sync and retry")
