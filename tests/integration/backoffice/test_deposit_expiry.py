"""Abandoned deposits on real PostgreSQL and the card PSP's simulator: a checkout the client
never paid stops counting against the KYC level's deposit limit once its day is over, and a
payment the PSP confirms after that is still credited, once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import httpx
import psycopg

from backoffice.payments.card_simulator import PAYS
from backoffice.payments.expiry import expire_unpaid_deposits
from brokerstack.settings import Settings
from tests.integration.api.support import Party
from tests.integration.backoffice.test_card_deposits import (  # noqa: F401 (world: a fixture)
    apply_events,
    deposit,
    pay,
    token,
    wait_delivered,
    wallet_balance,
    world,
)


def age(db: str, payment_id: object, hours: int) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE payments SET created_at = now() - make_interval(hours => %s) "
                     "WHERE id = %s", (hours, payment_id))  # fmt: skip


def test_an_abandoned_checkout_expires_frees_the_limit_and_a_late_payment_still_credits(
    world: tuple[str, str, Settings, Party],  # noqa: F811 (the fixture imported above)
    seeded_db_url: str,
) -> None:
    api, sim, settings, client = world
    auth = token(api, client)
    # KYC level 1 of the demo brand: 2,000.00 USD of deposits in all
    abandoned = deposit(api, auth, "2000.00", "abandoned").json()
    refused = deposit(api, auth, "10.00", "next")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "deposit_limit")
    wire = httpx.post(
        f"{api}/v1/portal/deposits",
        headers=auth,
        json={"amount": "0.01", "currency": "USD", "method": "bank_wire", "idempotency_key": "w"},
    )
    assert wire.status_code == 403  # the limit counts every unpaid deposit
    age(seeded_db_url, abandoned["payment_id"], 23)
    with psycopg.connect(seeded_db_url) as conn:
        assert expire_unpaid_deposits(conn, datetime.now(UTC)) == 0  # not a day old yet
    age(seeded_db_url, abandoned["payment_id"], 25)
    with psycopg.connect(seeded_db_url) as conn:
        assert expire_unpaid_deposits(conn, datetime.now(UTC)) == 1
        assert expire_unpaid_deposits(conn, datetime.now(UTC)) == 0  # once
    shown = httpx.get(f"{api}/v1/portal/deposits/{abandoned['payment_id']}", headers=auth).json()
    assert (shown["status"], shown["failure"]) == ("canceled", "expired")
    assert deposit(api, auth, "10.00", "next-day").status_code == 201

    # the client finds the old tab and pays it: the PSP took the money, so it is credited
    pay(abandoned["redirect_url"], PAYS)
    wait_delivered(sim, 1)
    apply_events(settings, seeded_db_url)
    shown = httpx.get(f"{api}/v1/portal/deposits/{abandoned['payment_id']}", headers=auth).json()
    assert (shown["status"], shown["failure"]) == ("succeeded", None)
    assert wallet_balance(seeded_db_url, client.client_id) == D("2000.00")  # the fee is ours
    with psycopg.connect(seeded_db_url) as conn:
        timeline = conn.execute(
            """SELECT event_type FROM crm_events WHERE client_id = %s
                 AND payload->>'payment_id' = %s ORDER BY occurred_at, id""",
            (client.client_id, str(abandoned["payment_id"])),
        ).fetchall()
    assert [t for (t,) in timeline] == [
        "payment.deposit_started",
        "payment.deposit_canceled",
        "payment.deposit_succeeded",
    ]
