"""What the service publishes about accounts and symbols: each account's state as the core
values it (the one valuation the api serves), and whether a symbol has a fresh price."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from brokerstack.streams import ACCOUNT_STATES_HASH, QUOTE_STATES_HASH
from execution import contracts as c
from tests.integration.execution.conftest import Desk
from tests.integration.execution.support import place

CENT = Decimal("0.01")


def _wait_for(desk: Desk, key: str, field: str, accept: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        data = desk.hash_field(key, field)
        event = c.decode_event(data) if data is not None else None
        if event is not None and accept(event):
            return event
        assert time.monotonic() < deadline, f"{key} {field}: last {event!r}"
        time.sleep(0.05)


def test_an_accounts_state_follows_its_trades_and_the_prices(desk: Desk) -> None:
    aid = desk.account.account_id
    fresh = _wait_for(desk, ACCOUNT_STATES_HASH, str(aid), lambda s: True)
    assert isinstance(fresh, c.AccountState)
    assert (fresh.balance, fresh.equity, fresh.margin, fresh.margin_level) == (
        Decimal("10000.00"), Decimal("10000.00"), Decimal("0.00"), None,
    )  # fmt: skip

    opened = desk.client.request(place("buy", aid, "buy", "0.01"))
    assert isinstance(opened, c.Accepted)
    desk.quote("BTCUSD", "64100.00", "64101.00")  # client 64099.99 / 64101.01 (markup 2 points)
    state = _wait_for(
        desk, ACCOUNT_STATES_HASH, str(aid), lambda s: s.positions and s.time > 0 and
        s.positions[0].price == Decimal("64099.99"),
    )  # fmt: skip

    # bought 0.01 at the client ask 64001.01; valued at the bid 64099.99
    profit = ((Decimal("64099.99") - Decimal("64001.01")) * Decimal("0.01")).quantize(
        CENT, ROUND_HALF_UP
    )
    # CFD with leverage 100, margined at the ask
    margin = (Decimal("0.01") * Decimal("64101.01") / 100).quantize(CENT, ROUND_HALF_UP)
    equity = Decimal("10000.00") + profit
    assert state.valued
    assert state.positions == (
        c.PositionValue(opened.position_id or 0, Decimal("64099.99"), profit),
    )
    assert (state.floating_profit, state.equity, state.margin) == (profit, equity, margin)
    assert state.free_margin == equity - margin
    assert state.margin_level == (equity / margin * 100).quantize(CENT, ROUND_HALF_UP)
    # the same account's state also reaches its events channel
    channel = desk.subscribe(f"events:account:{aid}")
    desk.quote("BTCUSD", "64200.00", "64201.00")
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        data = channel.next(1)
        if data is not None:
            seen.append(c.decode_event(data))
            if isinstance(seen[-1], c.AccountState):
                break
    assert isinstance(seen[-1], c.AccountState)
    assert seen[-1].positions[0].price == Decimal("64199.99")


def test_a_symbol_without_fresh_prices_is_said_to_be_off_quotes_and_back(desk: Desk) -> None:
    live = _wait_for(desk, QUOTE_STATES_HASH, "BTCUSD", lambda s: True)
    assert isinstance(live, c.QuoteState)
    assert live.live
    # the LPs' staleness limit is a second: with no new quote the symbol goes off quotes
    off = _wait_for(desk, QUOTE_STATES_HASH, "BTCUSD", lambda s: not s.live)
    assert off.reason
    refused = desk.client.request(place("stale", desk.account.account_id, "buy", "0.01"))
    assert isinstance(refused, c.Rejected)
    assert refused.code is c.RejectCode.OFF_QUOTES
    desk.quote("BTCUSD", "64000.00", "64001.00")
    back = _wait_for(desk, QUOTE_STATES_HASH, "BTCUSD", lambda s: s.live)
    assert back.time > off.time
