"""Helpers for tests through the whole stack: the api under uvicorn with the execution
service behind it (the ``stack`` fixture), spoken to over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.integration.api.support import Party

SYMBOL = "BTCUSD"  # trades around the clock, so the tests do not depend on the weekday


def http_login(base: str, party: Party) -> dict[str, str]:
    token = httpx.post(
        f"{base}/v1/auth/token", data={"username": party.email, "password": party.password}
    ).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def wait_for_price(base: str, headers: dict[str, str], symbol: str = SYMBOL) -> dict[str, Any]:
    """The first live client price of ``symbol`` (the service's LPs need a moment)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        quotes = httpx.get(f"{base}/v1/quotes", params={"symbols": symbol}, headers=headers)
        if quotes.status_code == 200 and quotes.json() and quotes.json()[0]["live"]:
            return quotes.json()[0]  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("no live price published for " + symbol)
