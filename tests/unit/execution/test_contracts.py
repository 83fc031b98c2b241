"""Message contracts: compact MessagePack, tagged and versioned, independent of the core."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from execution import contracts as c


def test_commands_round_trip_through_msgpack() -> None:
    command = c.PlaceOrder(
        request_id="r1", account_id=7, symbol="EURUSD", side=c.Side.SELL, volume=Decimal("0.25"),
        type=c.OrderType.LIMIT, price=Decimal("1.10500"), tif=c.TimeInForce.DAY,
    )  # fmt: skip
    data = c.encode(command)
    assert c.decode_command(data) == command
    assert msgspec.msgpack.decode(data)["t"] == "place"
    assert msgspec.msgpack.decode(data)["v"] == c.VERSION
    assert len(data) < 170


def test_replies_and_events_round_trip() -> None:
    reply = c.Rejected(request_id="r", code=c.RejectCode.NO_MONEY, message="free margin")
    assert c.decode_reply(c.encode(reply)) == reply
    event = c.MarginCall(
        account_id=1, margin_level=None, equity=Decimal(1), margin=Decimal(0), time=5
    )
    assert c.decode_event(c.encode(event)) == event


def test_unknown_tag_is_a_validation_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        c.decode_command(msgspec.msgpack.encode({"t": "launch_rocket", "request_id": "x"}))


def test_contracts_import_nothing_else_from_execution() -> None:
    source = Path(c.__file__).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {m for m in imported if m.startswith("execution")}
