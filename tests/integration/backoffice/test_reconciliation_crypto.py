"""Reconciliation of the crypto gateway's settlement report: USDT sent to the client's USD and
EUR deposit addresses, credited from the gateway's signed callbacks at two confirmations, one
transfer still short of them, a withdrawal to an address; the day's report fetched from the
simulator, then exceptions planted in it. The expected exceptions are the test's own list of
what it planted; everything else in the file is clean.

Expected figures are the test's arithmetic: the simulator values USDT at 1 per USD and 1.08 per
EUR (to the cent, down), takes 1 % of a deposit (to the cent, half up) and charges a
withdrawal its 1 USDT network fee in the withdrawal's currency."""

from __future__ import annotations

from decimal import Decimal as D

import httpx
import psycopg

from tests.integration.backoffice.support_psp import apply_events, token, wait_delivered
from tests.integration.backoffice.support_settlements import (
    again_adds_nothing,
    fetch_report,
    found_in,
    no_limits,
    pay_out,
    refused_whole,
    today,
    written,
)
from tests.integration.backoffice.test_crypto_deposits import (  # noqa: F401 (a fixture)
    PAYOUT_ADDRESS,
    World,
    deposit,
    send,
    world,
)

KEY = {"X-Api-Key": "crypto-simulator-key"}


def addresses(api: str, auth: dict[str, str]) -> tuple[str, str]:
    """The client's USD and EUR deposit addresses (a deposit asked for at each)."""
    usd = deposit(api, auth, "100.00", "usd")["deposit_address"]
    eur = httpx.post(
        f"{api}/v1/portal/deposits",
        headers=auth,
        json={"amount": "100.00", "currency": "EUR", "method": "crypto", "idempotency_key": "eur"},
    )
    assert eur.status_code == 201, eur.text
    return usd, str(eur.json()["deposit_address"])


def statuses(db: str, client_id: int) -> dict[str, tuple[str, D, str]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            """SELECT psp_payment_id, status, coalesce(received_amount, amount), currency
               FROM payments WHERE client_id = %s AND psp_payment_id IS NOT NULL""",
            (client_id,),
        ).fetchall()
    return {str(r[0]): (str(r[1]), D(r[2]), str(r[3])) for r in rows}


def test_planted_exceptions_in_the_crypto_report_are_found_and_nothing_else(
    world: World,  # noqa: F811 (the fixture imported above)
    seeded_db_url: str,
) -> None:
    api, sim, settings, client, _ = world
    db = seeded_db_url
    no_limits(db, client.client_id)
    auth = token(api, client)
    usd, eur = addresses(api, auth)
    a = send(sim, usd, "100", confirmations=2)
    b = send(sim, eur, "120", confirmations=2)  # 120 / 1.08 = 111.11 EUR
    c = send(sim, usd, "75.5", confirmations=2)
    clean = send(sim, eur, "54", confirmations=2)  # 50.00 EUR
    short = send(sim, usd, "30", confirmations=1)  # neither the gateway nor we credit it yet
    wait_delivered(sim, 4 * 3 + 2)
    apply_events(settings, db)
    ours = statuses(db, client.client_id)
    assert ours[b] == ("succeeded", D("111.11"), "EUR")
    assert ours[short] == ("pending", D("30.00"), "USD")
    pay_out(api, sim, settings, db, auth, {"amount": "40.00", "currency": "USD",
            "idempotency_key": "w-1", "destination": PAYOUT_ADDRESS}, 15)  # fmt: skip

    original, columns, rows = fetch_report(sim, KEY)
    assert columns == ["id", "created_utc", "type", "txid", "address", "asset", "asset_amount",
                       "rate", "currency", "amount", "fee", "net_amount"]  # fmt: skip
    assert [r["type"] for r in rows] == ["deposit"] * 4 + ["withdrawal"]
    by_id = {r["id"]: r for r in rows}
    assert short not in by_id
    figures = {k: tuple(r[c] for c in ("asset_amount", "rate", "currency", "amount", "fee",
                                       "net_amount")) for k, r in by_id.items()}  # fmt: skip
    # 120 USDT / 1.08 = 111.111.. -> 111.11 EUR; 1 % = 1.1111 -> 1.11; net 110.00
    assert figures[b] == ("120", "1.08", "EUR", "111.11", "1.11", "110.00")
    # 75.5 USDT = 75.50 USD; 1 % = 0.755 -> 0.76; net 74.74
    assert figures[c] == ("75.5", "1", "USD", "75.50", "0.76", "74.74")
    (withdrawal,) = [r for r in rows if r["type"] == "withdrawal"]
    # 40.00 USD sent as 40 USDT, the 1 USDT network fee charged as 1.00 USD: -41.00
    assert figures[withdrawal["id"]] == ("-40.00", "1", "USD", "-40.00", "1.00", "-41.00")
    assert withdrawal["address"] == PAYOUT_ADDRESS
    assert (by_id[a]["txid"], by_id[a]["address"], by_id[a]["asset"]) == (a, usd, "USDT")

    planted = [r for r in rows if r["id"] != a]  # a: left out (missing at the PSP)
    # b valued at 120.00 EUR, still adding up: 129.6 USDT at 1.08; 1 % = 1.20
    by_id[b] |= {"asset_amount": "129.6", "amount": "120.00", "fee": "1.20",
                 "net_amount": "118.80"}  # fmt: skip
    by_id[c]["currency"] = "EUR"  # c: settled as a EUR deposit (75.5 USDT at 1 per EUR)
    # the transfer short of our confirmations, credited by the gateway: we hold it pending
    credited_early = {**by_id[clean], "id": short, "txid": short, "address": usd,
                      "asset_amount": "30", "rate": "1", "currency": "USD", "amount": "30.00",
                      "fee": "0.30", "net_amount": "29.70"}  # fmt: skip
    stranger = {**by_id[clean], "id": "ff" * 32, "txid": "ff" * 32}

    kinds = found_in(db, "crypto-sim", written(columns, [*planted, credited_early, stranger]), 6)
    assert {(kind, e.source_id) for kind, e in kinds.items()} == {
        ("missing_at_psp", a), ("amount_differs", b), ("currency_differs", c),
        ("status_differs", short), ("missing_here", "ff" * 32),
    }  # fmt: skip
    mine = {kind: (e.ours.get("amount"), e.ours.get("status"), e.theirs.get("gross"),
                   e.theirs.get("status")) for kind, e in kinds.items()}  # fmt: skip
    assert mine == {
        "missing_at_psp": ("100.00", "succeeded", None, None),
        "amount_differs": ("111.11", "succeeded", "120.00", "succeeded"),
        "currency_differs": ("75.50", "succeeded", "75.50", "succeeded"),
        "status_differs": ("30.00", "pending", "30.00", "succeeded"),
        "missing_here": (None, None, "50.00", "succeeded"),
    }
    with psycopg.connect(db) as conn:
        kept = conn.execute(
            """SELECT gross, currency, fee, net, settled_currency, asset, asset_amount,
                      created_at::date::text
               FROM settlement_rows WHERE source_id = %s AND file_id = %s""",
            (clean, kinds["missing_here"].file_id)).fetchone()  # fmt: skip
    assert kept == (D("50.00"), "EUR", D("0.50"), D("49.50"), "EUR", "USDT", D("54"), today())

    # the gateway's own report of the day agrees with us on everything
    again_adds_nothing(db, "crypto-sim", original, 5)


def test_a_crypto_row_whose_value_is_not_its_coins_at_the_rate_refuses_the_file(
    world: World,  # noqa: F811
    seeded_db_url: str,
) -> None:
    api, sim, _, client, _ = world
    no_limits(seeded_db_url, client.client_id)
    auth = token(api, client)
    usd, eur = addresses(api, auth)
    send(sim, usd, "20", confirmations=2)
    send(sim, eur, "120", confirmations=2)
    wait_delivered(sim, 6)
    _, columns, rows = fetch_report(sim, KEY)
    # 120 USDT at 1.08 is 111.111.. EUR: 111.13 is more than a cent off
    rows[1] |= {"amount": "111.13", "net_amount": "110.02"}
    reason = refused_whole(seeded_db_url, "crypto-sim", written(columns, rows), 3)
    assert "amount 111.13 EUR is not 120 USDT at 1.08 USDT per EUR" in reason
