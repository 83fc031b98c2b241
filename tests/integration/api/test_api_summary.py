"""The account summary and the positions' price and profit are the execution core's valuation
(its published ``AccountState``), never a second computation in the api."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import redis
from fastapi.testclient import TestClient

from execution import contracts
from tests.integration.api.conftest import login
from tests.integration.api.support import (
    Party,
    open_position,
    publish_account_state,
    publish_tick,
)

AS_OF = datetime(2025, 11, 20, 14, 30, 5, 250_000, tzinfo=UTC)
AS_OF_NS = int(AS_OF.timestamp()) * 1_000_000_000 + 250_000_000


def _state(party: Party, positions: tuple[contracts.PositionValue, ...]) -> contracts.AccountState:
    # Figures no formula in the api could produce from the prices below: if the answer holds
    # them, it served the core's valuation.
    return contracts.AccountState(
        account_id=party.account_id,
        currency="USD",
        balance=D("10000.00"),
        credit=D("250.00"),
        floating_profit=D("-123.45"),
        equity=D("10126.55"),
        margin=D("3600.10"),
        free_margin=D("6526.45"),
        margin_level=D("281.29"),
        valued=False,
        unpriced=("XAUUSD",),
        in_margin_call=False,
        positions=positions,
        time=AS_OF_NS,
    )


def test_the_summary_is_the_cores_last_valuation_and_says_when(
    api: TestClient, alice: Party, redis_client: redis.Redis
) -> None:
    headers = login(api, alice)
    publish_tick(redis_client, alice.group, "EURUSD", "1.20000", "1.20010", AS_OF_NS)
    publish_account_state(redis_client, _state(alice, ()))
    summary = api.get(f"/v1/accounts/{alice.account_id}/summary", headers=headers)
    assert summary.status_code == 200, summary.text
    assert summary.json() == {
        "account_id": alice.account_id,
        "currency": "USD",
        "balance": "10000.00",
        "credit": "250.00",
        "floating_profit": "-123.45",
        "equity": "10126.55",
        "margin": "3600.10",
        "free_margin": "6526.45",
        "margin_level": "281.29",
        "valued": False,
        "unpriced_symbols": ["XAUUSD"],
        "in_margin_call": False,
        "as_of": "2025-11-20T14:30:05.250000Z",
    }


def test_no_valuation_yet_is_answered_clearly(api: TestClient, alice: Party) -> None:
    response = api.get(f"/v1/accounts/{alice.account_id}/summary", headers=login(api, alice))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "valuation_pending"


def test_positions_carry_the_cores_price_and_profit(
    api: TestClient, alice: Party, seeded_db_url: str, redis_client: redis.Redis
) -> None:
    headers = login(api, alice)
    valued = open_position(seeded_db_url, alice, "EURUSD", "buy", "0.10", "1.08000")
    newer = open_position(seeded_db_url, alice, "XAUUSD", "sell", "1", "2350.10")
    positions_url = f"/v1/accounts/{alice.account_id}/positions"
    before = api.get(positions_url, headers=headers).json()
    # No state yet: the positions are listed, without a price or profit.
    assert [(p["id"], p["current_price"], p["profit"]) for p in before] == [
        (valued, None, None),
        (newer, None, None),
    ]
    value = contracts.PositionValue(valued, D("1.08123"), D("10.80"))
    publish_account_state(redis_client, _state(alice, (value,)))
    listed = api.get(positions_url, headers=headers).json()
    assert listed[0] == {
        "id": valued,
        "symbol": "EURUSD",
        "side": "buy",
        "volume": "0.10",
        "open_price": "1.08000",
        "sl": None,
        "tp": None,
        "swap": "-1.50",
        "commission": "-0.70",
        "opened_at": listed[0]["opened_at"],
        "current_price": "1.08123",
        "profit": "10.80",
        "valued_at": "2025-11-20T14:30:05.250000Z",
    }
    # A position the state does not know yet (newer than it) has no figures.
    assert (listed[1]["id"], listed[1]["current_price"], listed[1]["profit"]) == (newer, None, None)
    assert listed[1]["volume"] == "1.00"
    assert listed[1]["open_price"] == "2350.10"
