"""Clients' wallets through the portal routes: balances, a conversion quoted at the prices the
execution service publishes (put into its hashes the way it encodes them) and confirmed, and
transfers to and from a live trading account through the real execution service.

The demo brand's markup is 0.005 and its default live group ``retail-eu-hedging``: the
quotes take that group's prices. Expected figures are worked out by hand beside them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import hash_password
from backoffice.wallets.accounts import open_wallet
from tests.integration.api.conftest import login, make_settings
from tests.integration.api.support import PASSWORD, Party, publish_quote_state, publish_tick
from tests.integration.backoffice.support_trading import Trading, trading
from warehouse import ledger

GROUP = "retail-eu-hedging"
WALLETS = "/v1/portal/wallets"


def fund(db_url: str, client_id: int, amount: str, currency: str = "USD") -> None:
    """A card deposit's ledger side: PSP clearing -> the client's wallet."""
    with psycopg.connect(db_url) as conn:
        wallet = open_wallet(conn, client_id, currency)
        psp = conn.execute("SELECT id FROM ledger_accounts WHERE code = %s",
                           (f"demo:psp_clearing:stub-psp:{currency}",)).fetchone()  # fmt: skip
        assert psp is not None
        ledger.post(conn, [ledger.move(f"fund-{client_id}-{amount}", currency, "deposit",
                                       psp[0], wallet.ledger_account_id, D(amount))])  # fmt: skip


def scalar(db_url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def held(api: TestClient, headers: dict[str, str]) -> dict[str, tuple[str, str, str]]:
    response = api.get(WALLETS, headers=headers)
    assert response.status_code == 200, response.text
    return {w["currency"]: (w["balance"], w["held"], w["available"]) for w in response.json()}


def price(r: redis.Redis, symbol: str, bid: str, ask: str) -> None:
    publish_tick(r, GROUP, symbol, bid, ask, time.time_ns())


def test_a_quote_confirmed_converts_between_wallets(
    api: TestClient, alice: Party, redis_client: redis.Redis, seeded_db_url: str
) -> None:
    headers = login(api, alice)
    assert api.get(WALLETS, headers=headers).json() == []
    fund(seeded_db_url, alice.client_id, "1000.00")
    assert held(api, headers) == {"USD": ("1000.00", "0.00", "1000.00")}
    price(redis_client, "EURUSD", "1.2499", "1.2501")  # mid 1.25
    # 1 / 1.25 = 0.8 at the mid, 0.8 * 0.995 = 0.796 to the client;
    # 500.37 * 0.796 = 398.29452 -> 398.29 EUR
    body = {"from_currency": "USD", "to_currency": "EUR", "amount": "500.37"}
    quoted = api.post(f"{WALLETS}/quotes", headers=headers, json=body)
    assert quoted.status_code == 201, quoted.text
    offer = quoted.json()
    assert (offer["sell_amount"], offer["buy_amount"], offer["rate"]) == (
        "500.37", "398.29", "0.796")  # fmt: skip
    assert offer["confirmed_at"] is None
    assert held(api, headers) == {"EUR": ("0.00", "0.00", "0.00"),
                                  "USD": ("1000.00", "0.00", "1000.00")}  # fmt: skip

    path = f"{WALLETS}/quotes/{offer['quote_id']}/confirm"
    done = api.post(path, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["confirmed_at"] is not None
    assert held(api, headers) == {
        "EUR": ("398.29", "0.00", "398.29"),
        "USD": ("499.63", "0.00", "499.63"),
    }  # 1000.00 - 500.37
    again = api.post(path, headers=headers)
    assert again.json() == done.json()
    assert held(api, headers)["USD"] == ("499.63", "0.00", "499.63")


def test_refused_quotes_are_clear_and_write_nothing(
    api: TestClient, alice: Party, bob: Party, redis_client: redis.Redis, seeded_db_url: str
) -> None:
    headers = login(api, alice)
    fund(seeded_db_url, alice.client_id, "100.00")
    price(redis_client, "EURUSD", "1.2499", "1.2501")

    def ask(to: str = "EUR", amount: str = "10.00", sell: str = "USD", **extra: Any) -> Any:
        body = {"from_currency": sell, "to_currency": to, "amount": amount}
        return api.post(f"{WALLETS}/quotes", headers={**headers, **extra}, json=body)

    for amount in ("1e2", "-1", "0", " 1", "1_0"):
        assert ask(amount=amount).status_code == 422, amount  # the schema's grammar
    refused = ask(to="USD")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["source"] == "backoffice"
    assert ask(amount="10.001").status_code == 422  # USD has cents
    assert ask(amount="100.01").json()["error"]["code"] == "insufficient_funds"
    assert ask(sell="GBP").status_code == 404  # no GBP wallet
    unpriced = ask(to="JPY")  # USDJPY never published
    assert (unpriced.status_code, unpriced.json()["error"]["code"]) == (
        503, "fx_rate_unavailable")  # fmt: skip
    publish_quote_state(redis_client, "EURUSD", False, "stale", time.time_ns())
    assert ask().status_code == 503
    assert scalar(seeded_db_url, "SELECT count(*) FROM fx_quotes") == 0
    assert set(held(api, headers)) == {"USD"}

    publish_quote_state(redis_client, "EURUSD", True, "", time.time_ns())
    offer = ask().json()
    # another client's quote is not found, and an API key moves no money
    other = api.post(f"{WALLETS}/quotes/{offer['quote_id']}/confirm", headers=login(api, bob))
    assert other.status_code == 404
    key = api.post("/v1/api-keys", headers=headers, json={"scopes": ["read", "trade"]}).json()
    by_key = {"X-API-Key": key["api_key"]}
    assert api.post(f"{WALLETS}/quotes/{offer['quote_id']}/confirm",
                    headers=by_key).status_code == 403  # fmt: skip
    assert api.get(WALLETS, headers=by_key).status_code == 200
    assert (
        scalar(seeded_db_url, "SELECT count(*) FROM fx_quotes WHERE confirmed_at IS NOT NULL") == 0
    )


@pytest.fixture
def live(seeded_db_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[Trading, Any]]:
    """A live account on the real execution service, its owner able to log in, and the api."""
    with trading(seeded_db_url, redis_url, kind="live") as t:
        with psycopg.connect(seeded_db_url) as conn:
            conn.execute("UPDATE clients SET password_hash = %s WHERE id = %s",
                         (hash_password(PASSWORD), t.account.client_id))  # fmt: skip
        settings = make_settings(seeded_db_url, redis_url, tmp_path, timeout=10)
        with TestClient(create_app(settings)) as client:
            yield t, client


def test_transfers_to_and_from_a_live_account(
    live: tuple[Trading, Any], seeded_db_url: str
) -> None:
    t, api = live
    cid, aid = t.account.client_id, t.account.account_id
    email = scalar(seeded_db_url, "SELECT email FROM clients WHERE id = %s", cid)
    headers = login(api, Party(cid, email, aid, ""))
    fund(seeded_db_url, cid, "500.00")
    [(before,)] = t.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid)

    def move(direction: str, amount: str, key: str) -> Any:
        body = {"trading_account_id": aid, "direction": direction, "amount": amount,
                "idempotency_key": key}  # fmt: skip
        return api.post(f"{WALLETS}/transfers", headers=headers, json=body)

    there = move("to_trading", "200.00", "t-1")
    assert there.status_code == 200, there.text
    assert (there.json()["status"], there.json()["amount"]) == ("completed", "200.00")
    back = move("from_trading", "50.00", "t-2")
    assert back.json()["status"] == "completed"
    # 500.00 - 200.00 + 50.00 in the wallet; + 200.00 - 50.00 in the trading account
    assert held(api, headers) == {"USD": ("350.00", "0.00", "350.00")}
    assert t.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid) == [
        (before + D("150.00"),)]  # fmt: skip
    assert move("to_trading", "200.00", "t-1").json() == there.json()  # the same key
    assert move("to_trading", "201.00", "t-1").json()["error"]["code"] == "idempotency_conflict"
    too_much = move("to_trading", "350.01", "t-3")
    assert too_much.json()["error"]["code"] == "insufficient_funds"
    failed = move("from_trading", str(before + 151), "t-4")  # more than the account holds
    assert (failed.status_code, failed.json()["status"]) == (200, "failed")
    assert failed.json()["failure"] is not None
    assert held(api, headers) == {"USD": ("350.00", "0.00", "350.00")}

    listed = api.get(f"{WALLETS}/transfers", headers=headers).json()
    newest_first = [failed.json(), back.json(), there.json()]
    assert [x["transfer_id"] for x in listed] == [x["transfer_id"] for x in newest_first]
    assert api.get(f"{WALLETS}/transfers?limit=1", headers=headers).json() == listed[:1]
