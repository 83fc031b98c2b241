"""Crypto deposits end to end over HTTP: the api (uvicorn) asks the crypto gateway's simulator
(uvicorn) for the client's deposit address, a payer sends coins to it, the simulator's signed
callbacks report the transfer at each block confirmation, and the worker's round credits what
arrived once the transfer has the confirmations we require (2); a payout goes to the address
the client gives.

Expected figures are the test's arithmetic: the fee is 1 % of what arrived, to the cent half up
(the demo brand's crypto method), balances plain sums over ``ledger_entries``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from backoffice.audit import Actor
from backoffice.payments import callback_signatures as sig
from backoffice.payments import withdrawals
from backoffice.payments.crypto_simulator import create_simulator
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

SECRET = "crypto-simulator-secret"
World = tuple[str, str, Settings, Party, dict[str, dict[str, str]]]
PAYOUT_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


@pytest.fixture
def world(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[World]:
    """(api URL, simulator URL, settings, a client at KYC level 1, the simulator's payouts)."""
    del redis_client
    client = add_client(seeded_db_url, "coins@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 1, email_verified_at = now() WHERE id = %s",
                     (client.client_id,))  # fmt: skip
    sim_port = free_port()
    base = make_settings(seeded_db_url, redis_url, tmp_path)
    settings = base.model_copy(update={"backoffice": base.backoffice.model_copy(update={
        "crypto_psp_url": f"http://127.0.0.1:{sim_port}", "crypto_psp_simulator_port": sim_port,
    })})  # fmt: skip
    with serve(settings) as api_url:
        simulator = create_simulator(settings, f"{api_url}/v1/webhooks/psp/crypto-sim")
        with served(simulator, sim_port) as sim_url:
            yield api_url, sim_url, settings, client, simulator.state.payouts


def deposit(api: str, auth: dict[str, str], amount: str, key: str) -> dict[str, str]:
    body = {"amount": amount, "currency": "USD", "method": "crypto", "idempotency_key": key}
    answer = httpx.post(f"{api}/v1/portal/deposits", headers=auth, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def send(sim: str, address: str, amount: str, confirmations: int = 0) -> str:
    answer = httpx.post(f"{sim}/_sim/send", json={"address": address, "amount": amount,
                                                  "confirmations": confirmations})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return str(answer.json()["tx"])


def confirm(sim: str, tx: str) -> None:
    assert httpx.post(f"{sim}/_sim/transactions/{tx}/confirm", json={"blocks": 1}).is_success


def payment(db: str, payment_id: int) -> tuple[str, D | None, D, str | None]:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT status, received_amount, fee, psp_payment_id FROM payments "
                           "WHERE id = %s", (payment_id,)).fetchone()  # fmt: skip
    assert row is not None
    return row[0], row[1], row[2], row[3]


def test_a_transfer_is_credited_as_received_only_after_two_confirmations(
    world: World, seeded_db_url: str
) -> None:
    api, sim, settings, client, _ = world
    auth = token(api, client)
    first = deposit(api, auth, "100.00", "first")
    address = first["deposit_address"]
    assert (first["status"], first["psp"], first["fee"]) == ("pending", "crypto-sim", "1.00")
    assert first == {**first, "received": None}  # nothing credited yet
    assert address.startswith("T")
    assert address in httpx.get(first["redirect_url"]).text  # the gateway's page shows it
    # the payer sends 95.5 USDT, not the 100 asked
    tx = send(sim, address, "95.5")
    wait_delivered(sim, 1)
    apply_events(settings, seeded_db_url)
    assert payment(seeded_db_url, int(first["payment_id"]))[::3] == ("pending", tx)
    confirm(sim, tx)
    wait_delivered(sim, 2)
    apply_events(settings, seeded_db_url)
    assert wallet_balance(seeded_db_url, client.client_id) == 0  # one confirmation: not yet
    confirm(sim, tx)
    wait_delivered(sim, 3)
    apply_events(settings, seeded_db_url)
    assert wallet_balance(seeded_db_url, client.client_id) == D("95.50")
    # 1 % of 95.50 = 0.955 -> 0.96
    assert payment(seeded_db_url, int(first["payment_id"])) == ("succeeded", D("95.50"),
                                                                D("0.96"), tx)  # fmt: skip
    assert account_sum(seeded_db_url, "demo:psp_fees:USD") == D("0.96")
    assert account_sum(seeded_db_url, "demo:psp_clearing:crypto-sim:USD") == D("94.54")
    shown = httpx.get(f"{api}/v1/portal/deposits/{first['payment_id']}", headers=auth).json()
    assert (shown["status"], shown["first_deposit"]) == ("succeeded", True)
    assert (shown["amount"], shown["received"]) == ("100.00", "95.50")  # asked, credited

    # the same client gets the same address; every callback delivered twice credits once
    second = deposit(api, auth, "50.00", "second")
    assert second["deposit_address"] == address
    assert httpx.post(f"{sim}/_sim/config", json={"duplicates": 2}).is_success
    confirm(sim, tx)  # a third block of the first transfer: nothing more
    tx2 = send(sim, address, "50", confirmations=2)
    # and a transfer nobody asked for is a deposit of its own, not lost
    tx3 = send(sim, address, "30", confirmations=2)
    wait_delivered(sim, 3 + 2 + 6 + 6)
    apply_events(settings, seeded_db_url)
    apply_events(settings, seeded_db_url)
    assert payment(seeded_db_url, int(second["payment_id"])) == ("succeeded", D("50.00"),
                                                                 D("0.50"), tx2)  # fmt: skip
    assert wallet_balance(seeded_db_url, client.client_id) == D("175.50")
    assert account_sum(seeded_db_url, "demo:psp_fees:USD") == D("1.76")  # 0.96 + 0.50 + 0.30
    with psycopg.connect(seeded_db_url) as conn:
        extra = conn.execute(
            """SELECT id, status, amount, received_amount, method, deposit_address
               FROM payments WHERE psp_payment_id = %s""",
            (tx3,),
        ).fetchone()
        assert extra is not None
        credits = conn.execute(
            """SELECT idempotency_key, count(*) FROM ledger_transfers
               WHERE idempotency_key LIKE 'payment:%%:credit' GROUP BY 1""",
        ).fetchall()
        addresses = conn.execute(
            "SELECT address FROM psp_deposit_addresses WHERE client_id = %s",
            (client.client_id,),
        ).fetchall()
        assert ledger.check(conn).ok
    assert extra[1:] == ("succeeded", D("30.00"), D("30.00"), "crypto", address)
    assert sorted(k for k, _ in credits) == sorted(
        f"payment:{p}:credit" for p in (first["payment_id"], second["payment_id"], extra[0])
    )
    assert {n for _, n in credits} == {1}
    assert addresses == [(address,)]
    listed = httpx.get(f"{api}/v1/portal/deposits", headers=auth).json()
    assert len(listed) == 3


def _callback(now: int) -> bytes:
    transfer = {"id": "ab" * 32, "address": "T" + "x" * 33, "status": "confirming",
                "confirmations": 2, "amount": "100.00", "currency": "USD"}  # fmt: skip
    return json.dumps({"id": "cb_1", "type": "deposit", "timestamp": now,
                       "transaction": transfer}).encode()  # fmt: skip


def test_forged_changed_expired_and_unsigned_callbacks_are_refused_and_kept(
    world: World, seeded_db_url: str
) -> None:
    url = f"{world[0]}/v1/webhooks/psp/crypto-sim"
    now = int(time.time())
    body, old = _callback(now), _callback(now - 301)
    changed = body.replace(b"100.00", b"900.00")

    def post(content: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[sig.CRYPTO_SIGNATURE] = signature
        return httpx.post(url, content=content, headers=headers)

    cases = [
        ("mismatch", body, sig.crypto_signature("not-our-secret", body)),
        ("expired", old, sig.crypto_signature(SECRET, old)),  # replayed later
        ("missing", body, None),
        ("malformed", body, "abc"),
        ("mismatch", changed, sig.crypto_signature(SECRET, body)),
    ]
    for reason, content, signature in cases:
        answer = post(content, signature)
        code = answer.json()["error"]["code"]
        assert (answer.status_code, code) == (400, f"signature_{reason}")
    good = sig.crypto_signature(SECRET, body)
    assert post(body, good).json()["status"] == "stored"
    assert post(body, good).json()["status"] == "duplicate"
    with psycopg.connect(seeded_db_url) as conn:
        kept = conn.execute("SELECT provider, reason, raw_body FROM webhook_rejections "
                            "ORDER BY id").fetchall()  # fmt: skip
        stored = conn.execute("SELECT count(*) FROM webhook_inbox "
                              "WHERE provider = 'crypto-sim'").fetchone()  # fmt: skip
    assert [(r[0], r[1]) for r in kept] == [("crypto-sim", c[0]) for c in cases]
    assert bytes(kept[-1][2]) == changed
    assert stored == (1,)


def test_a_crypto_withdrawal_goes_to_the_clients_address_and_is_posted(
    world: World, seeded_db_url: str
) -> None:
    api, sim, settings, client, payouts = world
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (client.client_id,))
    auth = token(api, client)
    paid = deposit(api, auth, "200.00", "dep")
    send(sim, paid["deposit_address"], "200", confirmations=2)
    wait_delivered(sim, 3)
    apply_events(settings, seeded_db_url)
    assert wallet_balance(seeded_db_url, client.client_id) == D("200.00")
    url = f"{api}/v1/portal/withdrawals"
    body = {"amount": "80.00", "currency": "USD", "idempotency_key": "w-1"}
    nowhere = httpx.post(url, headers=auth, json=body)  # no address: refused, nothing held
    assert nowhere.status_code == 422, nowhere.text
    assert nowhere.json()["error"]["details"]["fields"][0]["field"] == "destination"
    bad = httpx.post(url, headers=auth, json={**body, "destination": "not an address"})
    assert bad.status_code == 422
    wallet = httpx.get(f"{api}/v1/portal/wallets", headers=auth).json()[0]
    assert wallet["held"] == "0.00"
    asked = httpx.post(url, headers=auth, json={**body, "destination": PAYOUT_ADDRESS})
    assert asked.status_code == 201, asked.text
    assert asked.json()["psp"] == "crypto-sim"
    demo = BrandScope.of(brand_id(seeded_db_url, "demo"))
    checker = add_member(seeded_db_url, ["finance"], [demo.param[0]])  # type: ignore[index]
    known = providers(settings)
    with psycopg.connect(seeded_db_url) as conn:
        withdrawals.approve(conn, Actor.staff(checker.id), demo, asked.json()["withdrawal_id"])
        assert withdrawals.send_approved(conn, known) == 1
    for provider in known.values():
        provider.close()
    wait_delivered(sim, 4)
    apply_events(settings, seeded_db_url)
    shown = httpx.get(f"{url}/{asked.json()['withdrawal_id']}", headers=auth).json()
    assert shown["status"] == "paid"
    assert wallet_balance(seeded_db_url, client.client_id) == D("120.00")
    [payout] = payouts.values()
    assert (payout["address"], payout["amount"]) == (PAYOUT_ADDRESS, "80.00")
    with psycopg.connect(seeded_db_url) as conn:
        rows = conn.execute("SELECT status, amount, method FROM payments "
                            "WHERE direction = 'withdrawal'").fetchall()  # fmt: skip
        assert ledger.check(conn).ok
    assert rows == [("succeeded", D("80.00"), "crypto")]
