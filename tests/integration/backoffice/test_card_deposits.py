"""Card deposits end to end over HTTP: the api (uvicorn) opens a checkout at the card PSP's
simulator (uvicorn), the client pays on its hosted page (3-D Secure included), the simulator's
signed webhooks reach the api, and the worker's round credits the wallet through the ledger.

Expected figures are the test's arithmetic: the fee is 2.9 % + 0.30 (the demo brand's card
method), the wallet's balance a plain sum over ``ledger_entries``."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
import uvicorn

from backoffice.audit import Actor
from backoffice.errors import Refused
from backoffice.payments import signatures, withdrawals
from backoffice.payments.card_simulator import DECLINED, NEEDS_3DS, PAYS, create_simulator
from backoffice.payments.processing import process_inbox
from backoffice.payments.providers import providers
from backoffice.scope import BrandScope
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from tests.integration.api.conftest import make_settings
from tests.integration.api.servers import serve
from tests.integration.api.support import Party, add_client
from tests.integration.backoffice.support_staff import add_member, brand_id, login
from warehouse import ledger

WEBHOOK_SECRET = "whsec_simulator"


@pytest.fixture
def world(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[tuple[str, str, Settings, Party]]:
    """(api URL, simulator URL, settings, a client at KYC level 1 with a confirmed address)."""
    del redis_client
    client = add_client(seeded_db_url, "payer@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 1, email_verified_at = now() WHERE id = %s",
                     (client.client_id,))  # fmt: skip
    sim_port = free_port()
    base = make_settings(seeded_db_url, redis_url, tmp_path)
    settings = base.model_copy(update={"backoffice": base.backoffice.model_copy(update={
        "card_psp_url": f"http://127.0.0.1:{sim_port}", "card_psp_simulator_port": sim_port,
    })})  # fmt: skip
    with serve(settings) as api_url:
        simulator = create_simulator(settings, f"{api_url}/v1/webhooks/psp/card-sim")
        server = uvicorn.Server(uvicorn.Config(simulator, host="127.0.0.1", port=sim_port,
                                               log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield api_url, f"http://127.0.0.1:{sim_port}", settings, client
        finally:
            server.should_exit = True
            thread.join(10)


def token(api: str, party: Party) -> dict[str, str]:
    response = httpx.post(f"{api}/v1/auth/token",
                          data={"username": party.email, "password": party.password})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_delivered(sim: str, count: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = httpx.get(f"{sim}/_sim/deliveries").json()
        if log["idle"] and sum(1 for d in log["deliveries"] if d["status"] == 200) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"webhooks not delivered: {log}")


def apply_events(settings: Settings, db_url: str) -> None:
    known = providers(settings)
    with psycopg.connect(db_url) as conn:
        process_inbox(conn, known)
    for provider in known.values():
        provider.close()


def wallet_balance(db_url: str, client_id: int, currency: str = "USD") -> D:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT -coalesce(sum(e.amount), 0) FROM ledger_entries e
               JOIN wallets w ON w.ledger_account_id = e.ledger_account_id
               WHERE w.client_id = %s AND w.currency = %s""",
            (client_id, currency),
        ).fetchone()
    assert row is not None
    return D(row[0])


def pay(url: str, card: str, code: str | None = None) -> httpx.Response:
    """The client on the hosted page: the card, then the bank's code when asked."""
    with httpx.Client(follow_redirects=False) as browser:
        assert "Card number" in browser.get(url).text
        answer = browser.post(url, data={"card": card, "expiry": "12/34", "cvc": "123"})
        assert answer.status_code == 303
        if answer.headers["location"].startswith("/3ds/"):
            challenge = url.split("/pay/")[0] + answer.headers["location"]
            assert "3-D Secure" in browser.get(challenge).text
            answer = browser.post(challenge, data={"code": code or ""})
            assert answer.status_code == 303
        return answer


def deposit(api: str, auth: dict[str, str], amount: str, key: str) -> httpx.Response:
    body = {"amount": amount, "currency": "USD", "idempotency_key": key}
    return httpx.post(f"{api}/v1/portal/deposits", headers=auth, json=body)


def test_a_card_deposit_with_3ds_is_credited_on_the_psps_event_not_on_the_return(
    world: tuple[str, str, Settings, Party], seeded_db_url: str
) -> None:
    api, sim, settings, client = world
    auth = token(api, client)
    started = deposit(api, auth, "100.00", "first")
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["status"], body["fee"], body["first_deposit"]) == ("pending", "3.20", False)
    assert deposit(api, auth, "100.00", "first").json()["payment_id"] == body["payment_id"]
    back = pay(body["redirect_url"], NEEDS_3DS, "1234")
    # back to our return page (at the public address; this test's api listens elsewhere)
    location = httpx.URL(back.headers["location"])
    assert (location.path, location.params["outcome"]) == ("/v1/portal/deposits/return",
                                                           "success")  # fmt: skip
    assert "credited as soon as" in httpx.get(f"{api}{location.raw_path.decode()}").text
    # back on our site and the webhooks delivered: nothing credited before the worker applies
    wait_delivered(sim, 2)
    assert wallet_balance(seeded_db_url, client.client_id) == 0
    apply_events(settings, seeded_db_url)
    assert wallet_balance(seeded_db_url, client.client_id) == D("100.00")
    shown = httpx.get(f"{api}/v1/portal/deposits/{body['payment_id']}", headers=auth).json()
    assert (shown["status"], shown["first_deposit"]) == ("succeeded", True)
    with psycopg.connect(seeded_db_url) as conn:
        states = [r[0] for r in conn.execute(
            "SELECT status FROM payment_events WHERE payment_id = %s ORDER BY id",
            (body["payment_id"],))]  # fmt: skip
        clearing = conn.execute(
            """SELECT sum(e.amount) FROM ledger_entries e JOIN ledger_accounts a
               ON a.id = e.ledger_account_id WHERE a.code = 'demo:psp_clearing:card-sim:USD'"""
        ).fetchone()
        assert ledger.check(conn).ok
    assert states == ["created", "pending", "requires_action", "succeeded"]
    assert clearing == (D("96.80"),)  # 100.00 less the PSP's 3.20
    # a second deposit is no FTD; a declined card credits nothing
    second = deposit(api, auth, "50.00", "second").json()
    pay(second["redirect_url"], DECLINED)
    third = deposit(api, auth, "20.00", "third").json()
    pay(third["redirect_url"], PAYS)
    wait_delivered(sim, 4)
    apply_events(settings, seeded_db_url)
    assert httpx.get(f"{api}/v1/portal/deposits/{second['payment_id']}",
                     headers=auth).json()["status"] == "failed"  # fmt: skip
    paid = httpx.get(f"{api}/v1/portal/deposits/{third['payment_id']}", headers=auth).json()
    assert (paid["status"], paid["first_deposit"]) == ("succeeded", False)
    assert wallet_balance(seeded_db_url, client.client_id) == D("120.00")


def test_deposits_stay_within_the_kyc_levels_limit(
    world: tuple[str, str, Settings, Party], seeded_db_url: str
) -> None:
    api, _, _, client = world
    auth = token(api, client)
    assert deposit(api, auth, "1500.00", "a").status_code == 201  # level 1: 2,000 USD in all
    over = deposit(api, auth, "600.00", "b")
    assert over.status_code == 403
    assert (over.json()["error"]["code"], over.json()["error"]["details"]["remaining"]) == (
        "deposit_limit",
        "500.00",
    )
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 0 WHERE id = %s", (client.client_id,))
    refused = deposit(api, auth, "10.00", "c")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "kyc_not_approved")
    with psycopg.connect(seeded_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM payments").fetchone() == (1,)


def _event(intent: str = "pi_x") -> bytes:
    return json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "created": 1,
                       "data": {"object": {"id": intent, "amount": 100, "currency": "usd",
                                           "metadata": {}}}}).encode()  # fmt: skip


def test_forged_changed_expired_and_replayed_webhooks_are_refused_and_kept(
    world: tuple[str, str, Settings, Party], seeded_db_url: str
) -> None:
    api = world[0]
    url = f"{api}/v1/webhooks/psp/card-sim"
    body, now = _event(), int(time.time())

    def send(content: bytes, header: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers[signatures.SIGNATURE_HEADER] = header
        return httpx.post(url, content=content, headers=headers)

    cases = {
        "mismatch": (body, signatures.sign("not-our-secret", body, now)),  # forged
        "expired": (body, signatures.sign(WEBHOOK_SECRET, body, now - 301)),  # replayed later
        "missing": (body, None),
        "malformed": (body, "v1=abc"),
    }
    changed = body.replace(b"100", b"900")
    cases["changed"] = (changed, signatures.sign(WEBHOOK_SECRET, body, now))
    for reason, (content, header) in cases.items():
        answer = send(content, header)
        expected = "mismatch" if reason == "changed" else reason
        assert (answer.status_code, answer.json()["error"]["code"]) == (
            400,
            f"signature_{expected}",
        )
    good = signatures.sign(WEBHOOK_SECRET, body, now)
    assert send(body, good).json()["status"] == "stored"
    assert send(body, good).json()["status"] == "duplicate"  # the same delivery again
    assert httpx.post(f"{api}/v1/webhooks/psp/nobody", content=body).status_code == 404
    with psycopg.connect(seeded_db_url) as conn:
        kept = conn.execute(
            "SELECT reason, raw_body FROM webhook_rejections ORDER BY id"
        ).fetchall()
        stored = conn.execute(
            "SELECT count(*) FROM webhook_inbox WHERE provider = 'card-sim'"
        ).fetchone()
    assert [r[0] for r in kept] == ["mismatch", "expired", "missing", "malformed", "mismatch"]
    assert bytes(kept[-1][1]) == changed  # the raw bytes, as received
    assert stored == (1,)


def test_a_chargeback_takes_what_the_wallet_has_and_the_rest_is_the_clients_debt(
    world: tuple[str, str, Settings, Party], seeded_db_url: str
) -> None:
    api, sim, settings, client = world
    auth = token(api, client)
    paid = deposit(api, auth, "100.00", "to-dispute").json()
    pay(paid["redirect_url"], PAYS)
    wait_delivered(sim, 1)
    apply_events(settings, seeded_db_url)
    with psycopg.connect(seeded_db_url) as conn:
        # the client spends 70.00 of it (a payout, as the ledger sees it)
        wallet, intent = conn.execute(
            """SELECT w.ledger_account_id, p.psp_payment_id FROM payments p
               JOIN wallets w ON w.id = p.wallet_id WHERE p.id = %s""",
            (paid["payment_id"],),
        ).fetchone() or (None, None)
        psp = conn.execute("SELECT id FROM ledger_accounts "
                           "WHERE code = 'demo:psp_clearing:stub-psp:USD'").fetchone()  # fmt: skip
        assert psp is not None
        ledger.post(conn, [ledger.move("spent", "USD", "withdrawal", wallet, psp[0], D(70))])
    assert httpx.post(f"{sim}/_sim/payments/{intent}/dispute").status_code == 200
    wait_delivered(sim, 2)
    apply_events(settings, seeded_db_url)
    apply_events(settings, seeded_db_url)  # a second round finds nothing to do
    shown = httpx.get(f"{api}/v1/portal/deposits/{paid['payment_id']}", headers=auth).json()
    assert shown["status"] == "chargeback"
    assert wallet_balance(seeded_db_url, client.client_id) == 0  # 30.00 taken, not -70.00
    with psycopg.connect(seeded_db_url) as conn:
        owed = conn.execute(
            """SELECT sum(e.amount) FROM ledger_entries e JOIN ledger_accounts a
               ON a.id = e.ledger_account_id
               WHERE a.kind = 'client_receivable' AND a.client_id = %s""",
            (client.client_id,),
        ).fetchone()
        case = conn.execute(
            "SELECT kind, status, client_blocked FROM aml_cases WHERE client_id = %s",
            (client.client_id,),
        ).fetchall()
        status = conn.execute("SELECT status FROM clients WHERE id = %s",
                              (client.client_id,)).fetchone()  # fmt: skip
        taken_back = conn.execute(
            "SELECT count(*) FROM ledger_transfers WHERE idempotency_key = %s",
            (f"payment:{paid['payment_id']}:chargeback",),
        ).fetchone()
        assert ledger.check(conn).ok
    assert owed == (D("70.00"),)
    assert case == [("chargeback", "open", True)]
    assert status == ("suspended",)
    assert taken_back == (1,)


def _paid_deposit(api: str, sim: str, settings: Settings, db: str, auth: dict[str, str],
                  amount: str, key: str, delivered: int) -> None:  # fmt: skip
    started = deposit(api, auth, amount, key).json()
    pay(started["redirect_url"], PAYS)
    wait_delivered(sim, delivered)
    apply_events(settings, db)


def test_a_withdrawal_is_held_approved_by_two_others_paid_out_and_posted(
    world: tuple[str, str, Settings, Party], seeded_db_url: str
) -> None:
    api, sim, settings, client = world
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (client.client_id,))
    auth = token(api, client)
    _paid_deposit(api, sim, settings, seeded_db_url, auth, "1500.00", "big", 1)
    url = f"{api}/v1/portal/withdrawals"

    def ask(amount: str, key: str, **extra: str) -> httpx.Response:
        return httpx.post(url, headers=auth, json={"amount": amount, "currency": "USD",
                                                   "idempotency_key": key, **extra})  # fmt: skip

    # back only where the money came from, and never more than the wallet holds
    elsewhere = ask("10.00", "elsewhere", psp="stub-psp")
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (409, "return_to_source")
    big = ask("1200.00", "w-1")
    assert big.status_code == 201, big.text
    w = big.json()
    assert (w["status"], w["approvals_needed"], w["psp"]) == ("pending_approval", 2, "card-sim")
    assert ask("1200.00", "w-1").json()["withdrawal_id"] == w["withdrawal_id"]
    wallet = httpx.get(f"{api}/v1/portal/wallets", headers=auth).json()[0]
    assert (wallet["balance"], wallet["held"], wallet["available"]) == ("1500.00", "1200.00",
                                                                         "300.00")  # fmt: skip
    beyond = ask("300.01", "w-2").json()["error"]  # 1,500 deposited, 1,200 on its way back
    assert (beyond["code"], beyond["details"]["returnable"]) == ("return_to_source", "300.00")

    first, second = (add_member(seeded_db_url, ["finance"], [brand_id(seeded_db_url, "demo")])
                     for _ in range(2))  # fmt: skip
    with httpx.Client(base_url=api) as http:
        a, b = login(http, first), login(http, second)  # type: ignore[arg-type]
        queue = http.get("/v1/admin/payments/withdrawals", headers=a).json()
        assert [q["withdrawal_id"] for q in queue] == [w["withdrawal_id"]]
        approve = f"/v1/admin/payments/withdrawals/{w['withdrawal_id']}/approve"
        once = http.post(approve, headers=a).json()
        assert (once["status"], once["approvals"]) == ("pending_approval", 1)
        twice = http.post(approve, headers=a).json()  # the same approver again: still one
        assert (twice["status"], twice["approvals"]) == ("pending_approval", 1)
        done = http.post(approve, headers=b).json()
        assert (done["status"], done["approvals"]) == ("approved", 2)
        support = add_member(seeded_db_url, ["support"], [brand_id(seeded_db_url, "demo")])
        denied = http.get("/v1/admin/payments/withdrawals", headers=login(http, support))  # type: ignore[arg-type]
        assert denied.status_code == 403
    known = providers(settings)
    with psycopg.connect(seeded_db_url) as conn:
        assert withdrawals.send_approved(conn, known) == 1
    for provider in known.values():
        provider.close()
    assert httpx.get(f"{url}/{w['withdrawal_id']}", headers=auth).json()["status"] == "sent"
    wait_delivered(sim, 2)
    apply_events(settings, seeded_db_url)
    assert httpx.get(f"{url}/{w['withdrawal_id']}", headers=auth).json()["status"] == "paid"
    assert wallet_balance(seeded_db_url, client.client_id) == D("300.00")
    with psycopg.connect(seeded_db_url) as conn:
        payout = conn.execute("SELECT status, amount FROM payments WHERE direction = "
                              "'withdrawal'").fetchall()  # fmt: skip
        assert ledger.check(conn).ok
    assert payout == [("succeeded", D("1200.00"))]


def test_the_requester_cannot_approve_and_a_failed_or_rejected_one_releases_the_money(
    world: tuple[str, str, Settings, Party], seeded_db_url: str
) -> None:
    api, sim, settings, client = world
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (client.client_id,))
    auth = token(api, client)
    _paid_deposit(api, sim, settings, seeded_db_url, auth, "500.00", "dep", 1)
    demo = BrandScope.of(brand_id(seeded_db_url, "demo"))
    maker, checker = (add_member(seeded_db_url, ["finance"], [demo.param[0]])  # type: ignore[index]
                      for _ in range(2))  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn:
        # asked for by a staff member on the client's behalf: that member cannot approve it
        asked = withdrawals.request_withdrawal(conn, client.client_id, D("100.00"), "USD", None,
                                               "by-staff", staff_user_id=maker.id)  # fmt: skip
        with pytest.raises(Refused) as refused:
            withdrawals.approve(conn, Actor.staff(maker.id), demo, asked.id)
        assert refused.value.code == "checker_is_maker"
        conn.rollback()
        assert withdrawals.approve(conn, Actor.staff(checker.id), demo, asked.id).status == \
            "approved"  # fmt: skip
        rejected = withdrawals.request_withdrawal(conn, client.client_id, D("50.00"), "USD",
                                                  None, "to-reject")  # fmt: skip
        withdrawals.reject(conn, Actor.staff(checker.id), demo, rejected.id, "wrong card")
        with pytest.raises(Refused):  # decided: no approval after a rejection
            withdrawals.approve(conn, Actor.staff(maker.id), demo, rejected.id)
        conn.rollback()
    assert httpx.post(f"{sim}/_sim/config", json={"payout": "failed"}).status_code == 200
    known = providers(settings)
    with psycopg.connect(seeded_db_url) as conn:
        assert withdrawals.send_approved(conn, known) == 1
    for provider in known.values():
        provider.close()
    wait_delivered(sim, 2)
    apply_events(settings, seeded_db_url)
    shown = httpx.get(f"{api}/v1/portal/withdrawals", headers=auth).json()
    assert [(s["status"], s["amount"]) for s in shown] == [("rejected", "50.00"),
                                                          ("failed", "100.00")]  # fmt: skip
    wallet = httpx.get(f"{api}/v1/portal/wallets", headers=auth).json()[0]
    assert (wallet["balance"], wallet["held"]) == ("500.00", "0.00")
    with psycopg.connect(seeded_db_url) as conn:
        assert ledger.check(conn).ok
