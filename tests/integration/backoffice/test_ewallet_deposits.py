"""E-wallet deposits end to end over HTTP: the api (uvicorn) creates a payment at the e-wallet
simulator (uvicorn), the payer approves it on the wallet's page, the simulator's signed
callback reaches the api, and the worker's round credits the wallet through the ledger; a
payout goes back to the paying wallet.

Expected figures are the test's arithmetic: the fee is 1.9 % + 0.25 (the demo brand's e-wallet
method), balances plain sums over ``ledger_entries``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from backoffice.audit import Actor
from backoffice.payments import callback_signatures as sig
from backoffice.payments import withdrawals
from backoffice.payments.ewallet_simulator import create_simulator
from backoffice.payments.providers import providers
from backoffice.scope import BrandScope
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from tests.integration.api.conftest import make_settings
from tests.integration.api.servers import serve
from tests.integration.api.support import Party, add_client
from tests.integration.backoffice.support_psp import (
    account_sum,
    apply_events,
    served,
    token,
    wait_delivered,
    wallet_balance,
)
from tests.integration.backoffice.support_staff import add_member, brand_id
from warehouse import ledger

SECRET = "ewallet-simulator-secret"
World = tuple[str, str, Settings, Party, Any]  # ..., the simulator's state (payments, payouts)


@pytest.fixture
def world(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[World]:
    """(api URL, simulator URL, settings, a client at KYC level 1, the simulator's state)."""
    del redis_client
    client = add_client(seeded_db_url, "wallet-payer@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 1, email_verified_at = now() WHERE id = %s",
                     (client.client_id,))  # fmt: skip
    sim_port = free_port()
    base = make_settings(seeded_db_url, redis_url, tmp_path)
    settings = base.model_copy(update={"backoffice": base.backoffice.model_copy(update={
        "ewallet_psp_url": f"http://127.0.0.1:{sim_port}", "ewallet_psp_simulator_port": sim_port,
    })})  # fmt: skip
    with serve(settings) as api_url:
        simulator = create_simulator(settings, f"{api_url}/v1/webhooks/psp/ewallet-sim")
        with served(simulator, sim_port) as sim_url:
            yield api_url, sim_url, settings, client, simulator.state


def deposit(api: str, auth: dict[str, str], amount: str, key: str) -> httpx.Response:
    body = {"amount": amount, "currency": "USD", "method": "ewallet", "idempotency_key": key}
    return httpx.post(f"{api}/v1/portal/deposits", headers=auth, json=body)


def on_wallet_page(url: str, action: str) -> httpx.Response:
    """The payer on the wallet's page: logs in and approves (or declines)."""
    with httpx.Client(follow_redirects=False) as browser:
        assert "Wallet e-mail" in browser.get(url).text
        answer = browser.post(url, data={"wallet_email": "me@wallet.example",
                                         "password": "test", "action": action})  # fmt: skip
        assert answer.status_code == 303, answer.text
        return answer


def test_an_approved_payment_is_credited_on_the_signed_callback_not_on_the_return(
    world: World, seeded_db_url: str
) -> None:
    api, sim, settings, client, _ = world
    auth = token(api, client)
    started = deposit(api, auth, "100.00", "first")
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["status"], body["method"], body["psp"], body["fee"]) == (
        "pending", "ewallet", "ewallet-sim", "2.15",  # 100.00 x 1.9 % + 0.25
    )  # fmt: skip
    assert deposit(api, auth, "100.00", "first").json()["payment_id"] == body["payment_id"]
    back = on_wallet_page(body["redirect_url"], "approve")
    location = httpx.URL(back.headers["location"])
    assert (location.path, location.params["outcome"]) == ("/v1/portal/deposits/return",
                                                           "success")  # fmt: skip
    assert "credited as soon as" in httpx.get(f"{api}{location.raw_path.decode()}").text
    wait_delivered(sim, 1)
    assert wallet_balance(seeded_db_url, client.client_id) == 0  # back, delivered, not applied
    apply_events(settings, seeded_db_url)
    assert wallet_balance(seeded_db_url, client.client_id) == D("100.00")
    assert account_sum(seeded_db_url, "demo:psp_fees:USD") == D("2.15")
    assert account_sum(seeded_db_url, "demo:psp_clearing:ewallet-sim:USD") == D("97.85")
    shown = httpx.get(f"{api}/v1/portal/deposits/{body['payment_id']}", headers=auth).json()
    assert (shown["status"], shown["first_deposit"]) == ("succeeded", True)

    # a declined payment credits nothing; a callback delivered twice credits once
    declined = deposit(api, auth, "50.00", "second").json()
    assert httpx.URL(on_wallet_page(declined["redirect_url"], "decline").headers["location"]
                     ).params["outcome"] == "cancel"  # fmt: skip
    assert httpx.post(f"{sim}/_sim/config", json={"duplicates": 2}).status_code == 200
    twice = deposit(api, auth, "20.00", "third").json()
    on_wallet_page(twice["redirect_url"], "approve")
    wait_delivered(sim, 4)
    apply_events(settings, seeded_db_url)
    apply_events(settings, seeded_db_url)
    states = {p["payment_id"]: p["status"] for p in
              httpx.get(f"{api}/v1/portal/deposits", headers=auth).json()}  # fmt: skip
    assert (states[declined["payment_id"]], states[twice["payment_id"]]) == ("failed",
                                                                           "succeeded")  # fmt: skip
    assert wallet_balance(seeded_db_url, client.client_id) == D("120.00")
    # 2.15 + (20.00 x 1.9 % + 0.25 = 0.63)
    assert account_sum(seeded_db_url, "demo:psp_fees:USD") == D("2.78")
    with psycopg.connect(seeded_db_url) as conn:
        credits = conn.execute(
            "SELECT count(*) FROM ledger_transfers WHERE idempotency_key = %s",
            (f"payment:{twice['payment_id']}:credit",),
        ).fetchone()
        assert ledger.check(conn).ok
    assert credits == (1,)


def _callback(resource_id: str = "EWP-1") -> bytes:
    return json.dumps({"id": "WH-1", "type": "payment.completed",
                       "created_at": "2026-12-02T10:00:00+00:00",
                       "resource": {"id": resource_id, "kind": "payment", "status": "completed",
                                    "amount": "100.00", "currency": "USD",
                                    "merchant_reference": "1"}}).encode()  # fmt: skip


def test_forged_changed_expired_and_unsigned_callbacks_are_refused_and_kept(
    world: World, seeded_db_url: str
) -> None:
    api = world[0]
    url = f"{api}/v1/webhooks/psp/ewallet-sim"
    body, now = _callback(), int(time.time())

    def send(content: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(url, content=content,
                          headers={"Content-Type": "application/json", **headers})  # fmt: skip

    good = sig.ewallet_headers(SECRET, body, "WH-1", now)
    changed = body.replace(b"100.00", b"900.00")
    cases = [
        ("mismatch", body, sig.ewallet_headers("not-our-secret", body, "WH-1", now)),
        ("expired", body, sig.ewallet_headers(SECRET, body, "WH-1", now - 301)),
        ("missing", body, {}),
        ("malformed", body, {**good, sig.EWALLET_SIGNATURE: "sha1=abc"}),
        ("mismatch", body, {**good, sig.EWALLET_EVENT_ID: "WH-2"}),  # another event's id
        ("mismatch", changed, good),
    ]
    for reason, content, headers in cases:
        answer = send(content, headers)
        code = answer.json()["error"]["code"]
        assert (answer.status_code, code) == (400, f"signature_{reason}")
    assert send(body, good).json()["status"] == "stored"
    assert send(body, good).json()["status"] == "duplicate"
    with psycopg.connect(seeded_db_url) as conn:
        kept = conn.execute("SELECT provider, reason, raw_body, signature "
                            "FROM webhook_rejections ORDER BY id").fetchall()  # fmt: skip
        stored = conn.execute("SELECT count(*) FROM webhook_inbox "
                              "WHERE provider = 'ewallet-sim'").fetchone()  # fmt: skip
        moved = conn.execute("SELECT count(*) FROM ledger_transfers").fetchone()
    assert [(r[0], r[1]) for r in kept] == [("ewallet-sim", c[0]) for c in cases]
    assert bytes(kept[-1][2]) == changed  # the raw bytes, as received
    assert kept[0][3] == cases[0][2][sig.EWALLET_SIGNATURE]
    assert stored == (1,)
    assert moved == (0,)


def test_a_withdrawal_is_paid_out_to_the_paying_wallet_and_posted(
    world: World, seeded_db_url: str
) -> None:
    api, sim, settings, client, state = world
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (client.client_id,))
    auth = token(api, client)
    paid = deposit(api, auth, "300.00", "dep").json()
    on_wallet_page(paid["redirect_url"], "approve")
    wait_delivered(sim, 1)
    apply_events(settings, seeded_db_url)
    asked = httpx.post(f"{api}/v1/portal/withdrawals", headers=auth, json={
        "amount": "100.00", "currency": "USD", "idempotency_key": "w-1"})  # fmt: skip
    assert asked.status_code == 201, asked.text
    assert asked.json()["psp"] == "ewallet-sim"  # back the way the money came
    demo = BrandScope.of(brand_id(seeded_db_url, "demo"))
    checker = add_member(seeded_db_url, ["finance"], [demo.param[0]])  # type: ignore[index]
    known = providers(settings)
    with psycopg.connect(seeded_db_url) as conn:
        approved = withdrawals.approve(conn, Actor.staff(checker.id), demo,
                                       asked.json()["withdrawal_id"])  # fmt: skip
        assert approved.status == "approved"
        assert withdrawals.send_approved(conn, known) == 1
    for provider in known.values():
        provider.close()
    wait_delivered(sim, 2)
    apply_events(settings, seeded_db_url)
    shown = httpx.get(f"{api}/v1/portal/withdrawals/{asked.json()['withdrawal_id']}",
                      headers=auth).json()  # fmt: skip
    assert shown["status"] == "paid"
    assert wallet_balance(seeded_db_url, client.client_id) == D("200.00")
    [payout] = state.payouts.values()
    assert payout["recipient"] == {"wallet_id": payout["recipient"]["wallet_id"],
                                   "email": "me@wallet.example"}  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn:
        rows = conn.execute("SELECT status, amount, method, psp_payment_id FROM payments "
                            "WHERE direction = 'withdrawal'").fetchall()  # fmt: skip
        assert ledger.check(conn).ok
    assert [(r[0], r[1], r[2]) for r in rows] == [("succeeded", D("100.00"), "ewallet")]
    assert rows[0][3] == payout["id"]


def test_a_payout_goes_back_to_a_deposit_in_its_currency_and_a_refused_one_is_released(
    world: World, seeded_db_url: str
) -> None:
    api, sim, settings, client, state = world
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (client.client_id,))
        # the maker-checker threshold counts EUR in USD at the last cut's rate
        conn.execute("INSERT INTO cut_rates (cut, currency, usd_rate) VALUES (now(), 'EUR', 1.08)")
    auth = token(api, client)
    for amount, currency, key in (("100.00", "EUR", "eur"), ("300.00", "USD", "usd")):
        started = httpx.post(f"{api}/v1/portal/deposits", headers=auth, json={
            "amount": amount, "currency": currency, "method": "ewallet",
            "idempotency_key": key}).json()  # fmt: skip
        on_wallet_page(started["redirect_url"], "approve")
    wait_delivered(sim, 2)
    apply_events(settings, seeded_db_url)
    demo = BrandScope.of(brand_id(seeded_db_url, "demo"))
    checker = add_member(seeded_db_url, ["finance"], [demo.param[0]])  # type: ignore[index]

    def ask(amount: str, currency: str, key: str) -> int:
        asked = httpx.post(f"{api}/v1/portal/withdrawals", headers=auth, json={
            "amount": amount, "currency": currency, "idempotency_key": key})  # fmt: skip
        assert asked.status_code == 201, asked.text
        with psycopg.connect(seeded_db_url) as conn:
            withdrawals.approve(conn, Actor.staff(checker.id), demo, asked.json()["withdrawal_id"])
        return int(asked.json()["withdrawal_id"])

    def shown(wid: int) -> dict[str, object]:
        return dict(httpx.get(f"{api}/v1/portal/withdrawals/{wid}", headers=auth).json())

    # EUR back to the EUR payment (the later USD one would be the wrong wallet payment)
    eur = ask("40.00", "EUR", "w-eur")
    known = providers(settings)
    try:
        with psycopg.connect(seeded_db_url) as conn:
            assert withdrawals.send_approved(conn, known) == 1
        [payout] = state.payouts.values()
        assert (payout["amount"], payout["currency"]) == ("40.00", "EUR")

        # the PSP no longer knows the USD payment: it refuses that payout for good (400); the
        # hold goes back to the client, and the EUR payout asked after it still goes out
        [usd_source] = [p for p in state.payments.values() if p.currency == "USD"]
        del state.payments[usd_source.id]
        usd = ask("100.00", "USD", "w-usd")
        eur_again = ask("10.00", "EUR", "w-eur-2")
        with psycopg.connect(seeded_db_url) as conn:
            assert withdrawals.send_approved(conn, known) == 1
    finally:
        for provider in known.values():
            provider.close()
    assert (shown(usd)["status"], shown(usd)["failure"]) == ("failed", "psp_refused")
    assert shown(eur_again)["status"] == "sent"
    wallets = {w["currency"]: w for w in httpx.get(f"{api}/v1/portal/wallets", headers=auth).json()}
    assert (wallets["USD"]["held"], wallets["USD"]["available"]) == ("0.00", "300.00")
    assert wallets["EUR"]["held"] == "50.00"  # 40 + 10 sent, not yet paid
    assert shown(eur)["status"] == "sent"
    with psycopg.connect(seeded_db_url) as conn:
        assert ledger.check(conn).ok
