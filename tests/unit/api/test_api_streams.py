"""Per-socket conflation and fan-out of one Redis message to many sockets."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from api.streams import Hub, SlowConsumer, Subscriber
from execution import contracts


def _tick(group: str, bid: str, time: int) -> bytes:
    return contracts.encode(
        contracts.Tick(
            group=group,
            symbol="EURUSD",
            bid=Decimal(bid),
            ask=Decimal(bid) + Decimal("0.0001"),
            time=time,
        )
    )


def test_a_slow_socket_gets_only_the_latest_price_per_symbol() -> None:
    async def scenario() -> list[str]:
        subscriber = Subscriber("g", backlog=10)
        subscriber.offer_quote("EURUSD", "q1")
        subscriber.offer_quote("GBPUSD", "g1")
        subscriber.offer_quote("EURUSD", "q2")
        return await subscriber.next_batch()

    assert asyncio.run(scenario()) == ["q2", "g1"]


def test_account_events_are_never_conflated_and_overflow_closes_the_socket() -> None:
    async def scenario() -> None:
        subscriber = Subscriber("g", backlog=2)
        subscriber.offer_event("e1")
        subscriber.offer_event("e2")
        subscriber.offer_quote("EURUSD", "q")
        assert await subscriber.next_batch() == ["e1", "e2", "q"]
        for text in ("e3", "e4", "e5"):
            subscriber.offer_event(text)
        with pytest.raises(SlowConsumer):
            await subscriber.next_batch()

    asyncio.run(scenario())


def test_one_message_fans_out_to_the_sockets_of_its_group_only() -> None:
    hub = Hub(redis=None, quote_max_age_ns=5_000_000_000)  # type: ignore[arg-type]  # dispatch needs no connection
    ours = [Subscriber("retail", 10) for _ in range(3)]
    theirs = Subscriber("pro", 10)
    hub._channels["quotes:EURUSD"] = {*ours, theirs}
    hub.dispatch("quotes:EURUSD", _tick("retail", "1.10000", 5))
    hub.dispatch("quotes:EURUSD", b"\xc1 not msgpack")
    for subscriber in ours:
        sent = json.loads(subscriber.quotes["EURUSD"])
        assert (sent["bid"], sent["time_ns"]) == ("1.10000", 5)
    assert theirs.quotes == {}


def test_account_events_carry_their_kind_and_exact_figures() -> None:
    hub = Hub(redis=None, quote_max_age_ns=5_000_000_000)  # type: ignore[arg-type]
    subscriber = Subscriber("g", 10)
    hub._channels["events:account:4"] = {subscriber}
    call = contracts.MarginCall(
        account_id=4,
        margin_level=Decimal("80.5"),
        equity=Decimal("805.10"),
        margin=Decimal("1000.00"),
        time=1,
    )
    hub.dispatch("events:account:4", contracts.encode(call))
    event = json.loads(subscriber.events[0])
    assert (event["event"], event["account_id"]) == ("margin_call", 4)
    assert event["data"]["equity"] == "805.10"
