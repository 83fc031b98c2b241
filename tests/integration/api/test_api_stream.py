"""The WebSocket: auth, quotes of the caller's group, account events, and scoping."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from api.app import create_app
from brokerstack.settings import Settings
from brokerstack.streams import ACCOUNT_EVENTS_CHANNEL
from execution import contracts
from tests.integration.api.conftest import login
from tests.integration.api.support import Party, publish_quote_state, publish_tick


def _token(api: TestClient, party: Party) -> str:
    return login(api, party)["Authorization"].removeprefix("Bearer ")


def _next(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.receive_text())
        if message["type"] == kind:
            return message
        assert message["type"] != "error", message


def test_a_socket_without_valid_credentials_gets_an_error_and_is_closed(api: TestClient) -> None:
    with api.websocket_connect("/v1/stream?access_token=forged") as ws:
        message = json.loads(ws.receive_text())
        assert message["type"] == "error"
        assert message["error"]["code"] == "invalid_token"
        closing = ws.receive()
        assert closing["type"] == "websocket.close"
        assert closing["code"] == 4401


def test_quotes_stream_in_the_callers_group_prices(
    api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    with api.websocket_connect(f"/v1/stream?access_token={_token(api, alice)}") as ws:
        ws.send_text(json.dumps({"action": "subscribe", "quotes": ["EURUSD", "GBPUSD"]}))
        assert _next(ws, "subscribed")["quotes"] == ["EURUSD", "GBPUSD"]
        publish_tick(redis_client, "some-other-group", "EURUSD", "2.00000", "2.00010", 1)
        publish_tick(redis_client, alice.group, "EURUSD", "1.08001", "1.08011", 2)
        quote = _next(ws, "quote")
        assert (quote["symbol"], quote["bid"], quote["ask"], quote["time_ns"]) == (
            "EURUSD",
            "1.08001",
            "1.08011",
            2,
        )
        ws.send_text(json.dumps({"action": "unsubscribe", "quotes": ["EURUSD"]}))
        _next(ws, "unsubscribed")
        publish_tick(redis_client, alice.group, "EURUSD", "1.09001", "1.09011", 3)
        publish_tick(redis_client, alice.group, "GBPUSD", "1.27001", "1.27011", 4)
        assert _next(ws, "quote")["symbol"] == "GBPUSD"


def test_account_events_reach_only_their_owner(
    api: TestClient, alice: Party, bob: Party, redis_client: redis.Redis
) -> None:
    with api.websocket_connect(f"/v1/stream?access_token={_token(api, alice)}") as ws:
        ws.send_text(json.dumps({"action": "subscribe", "events": [bob.account_id]}))
        refused = _next_any(ws)
        assert refused["type"] == "error"
        assert refused["error"]["code"] == "not_found"
        ws.send_text(json.dumps({"action": "subscribe", "events": [alice.account_id]}))
        _next(ws, "subscribed")
        deal = contracts.Deal(
            deal_id=7,
            order_id=3,
            account_id=alice.account_id,
            position_id=5,
            symbol="EURUSD",
            side=contracts.Side.BUY,
            entry=contracts.DealEntry.IN,
            reason=contracts.DealReason.CLIENT,
            volume=Decimal("0.10"),
            price=Decimal("1.08011"),
            profit=Decimal(0),
            commission=Decimal("-0.35"),
            swap=Decimal(0),
            book="b",
            time=9,
        )
        channel = ACCOUNT_EVENTS_CHANNEL.format(account_id=alice.account_id)
        redis_client.publish(channel, contracts.encode(deal))
        event = _next(ws, "event")
        assert event["event"] == "deal"
        assert event["account_id"] == alice.account_id
        assert event["data"]["price"] == "1.08011"
        assert event["data"]["commission"] == "-0.35"


def test_bad_stream_commands_name_the_field(api: TestClient, alice: Party) -> None:
    with api.websocket_connect(
        "/v1/stream", headers={"Authorization": f"Bearer {_token(api, alice)}"}
    ) as ws:
        ws.send_text(json.dumps({"action": "subscribe", "quotes": ["eur/usd"]}))
        error = _next_any(ws)
        assert error["error"]["code"] == "validation_error"
        assert error["error"]["details"]["fields"][0]["field"] == "quotes.0"
        ws.send_text("not json")
        assert _next_any(ws)["type"] == "error"
        ws.send_text(json.dumps({"action": "ping"}))
        assert _next_any(ws)["type"] == "pong"


def _next_any(ws: WebSocketTestSession) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.receive_text())
    return message


def test_subscribing_to_an_unknown_symbol_is_an_error_and_subscribes_nothing(
    api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    with api.websocket_connect(f"/v1/stream?access_token={_token(api, alice)}") as ws:
        ws.send_text(json.dumps({"action": "subscribe", "quotes": ["EURUSD", "EURUSX"]}))
        refused = _next_any(ws)
        assert refused["type"] == "error"
        assert refused["error"]["code"] == "not_found"
        assert refused["error"]["details"]["symbols"] == ["EURUSX"]
        # EURUSD, named in the same refused command, was not subscribed either: a price of
        # it published before one of GBPUSD (subscribed now) never arrives.
        ws.send_text(json.dumps({"action": "subscribe", "quotes": ["GBPUSD"]}))
        assert _next_any(ws)["type"] == "subscribed"
        publish_tick(redis_client, alice.group, "EURUSD", "1.08001", "1.08011", 1)
        publish_tick(redis_client, alice.group, "GBPUSD", "1.27001", "1.27011", 2)
        assert _next(ws, "quote")["symbol"] == "GBPUSD"


def test_a_binary_frame_closes_the_socket_with_unsupported_data(
    api: TestClient, alice: Party, caplog: pytest.LogCaptureFixture
) -> None:
    with api.websocket_connect(f"/v1/stream?access_token={_token(api, alice)}") as ws:
        ws.send_bytes(b'{"action": "ping"}')
        closing = ws.receive()
        assert closing["type"] == "websocket.close"
        assert closing["code"] == 1003
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.fixture
def quick_api(api_settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    """Prices older than three seconds are off quotes."""
    del redis_client
    quick = api_settings.api.model_copy(update={"quote_max_age_seconds": 3.0})
    settings = api_settings.model_copy(update={"api": quick})
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.timeout(60)
def test_a_symbol_going_off_quotes_and_back_is_said_on_the_socket(
    quick_api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    api = quick_api
    with api.websocket_connect(f"/v1/stream?access_token={_token(api, alice)}") as ws:
        publish_tick(redis_client, alice.group, "EURUSD", "1.08001", "1.08011", time.time_ns())
        ws.send_text(json.dumps({"action": "subscribe", "quotes": ["EURUSD"]}))
        _next(ws, "subscribed")
        assert _state(_next(ws, "quote_state")) == ("EURUSD", True, None)
        publish_quote_state(redis_client, "EURUSD", False, "no fresh price from any LP", 5)
        assert _state(_next(ws, "quote_state")) == ("EURUSD", False, "no fresh price from any LP")
        publish_quote_state(redis_client, "EURUSD", True, "", 6)
        assert _state(_next(ws, "quote_state")) == ("EURUSD", True, None)
        # Then nothing: the service stopped. After 3 s the price is no longer live.
        stale = _next(ws, "quote_state")
        assert stale["live"] is False
        assert stale["off_quotes_reason"].startswith("no price for")
        # A fresh price brings it back, said before the price itself.
        publish_tick(redis_client, alice.group, "EURUSD", "1.08101", "1.08111", time.time_ns())
        back = json.loads(ws.receive_text())
        assert _state(back) == ("EURUSD", True, None)
        assert _next(ws, "quote")["bid"] == "1.08101"


def test_subscribing_to_a_symbol_off_quotes_says_so_at_once(
    api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    publish_tick(redis_client, alice.group, "EURUSD", "1.08001", "1.08011", 1)  # in 1970
    with api.websocket_connect(f"/v1/stream?access_token={_token(api, alice)}") as ws:
        ws.send_text(json.dumps({"action": "subscribe", "quotes": ["EURUSD", "GBPUSD"]}))
        _next(ws, "subscribed")
        eurusd, gbpusd = _next(ws, "quote_state"), _next(ws, "quote_state")
    assert (eurusd["symbol"], eurusd["live"]) == ("EURUSD", False)
    assert _state(gbpusd) == ("GBPUSD", False, "never priced")


def _state(message: dict[str, Any]) -> tuple[str, bool, str | None]:
    return message["symbol"], message["live"], message["off_quotes_reason"]
