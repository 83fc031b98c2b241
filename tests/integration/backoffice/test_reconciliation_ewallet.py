"""Reconciliation of the e-wallet's settlement report: deposits in three currencies approved
on the wallet's page and credited from its signed callbacks, a payout back to the wallet, a
refund the wallet booked before our worker applied it; the day's report fetched from the
simulator (every payment converted into its USD balance), then exceptions planted in it. The
expected exceptions are the test's own list of what it planted and what really happened;
everything else in the file is clean.

Expected figures are the test's arithmetic at the simulator's fixed rates (EUR 1.0825, GBP
1.2650 USD) and fee (1.9 % of the converted amount + 0.25 USD, to the cent half up)."""

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
    written,
)
from tests.integration.backoffice.test_ewallet_deposits import (  # noqa: F401 (a fixture)
    World,
    on_wallet_page,
    world,
)

KEY = {"X-Api-Key": "ewallet-simulator-key"}


def paid(api: str, sim: str, settings: object, db: str, auth: dict[str, str], amount: str,
         currency: str, delivered: int) -> str:  # fmt: skip
    """A deposit approved on the wallet's page and credited; the wallet's payment id."""
    started = httpx.post(f"{api}/v1/portal/deposits", headers=auth, json={
        "amount": amount, "currency": currency, "method": "ewallet",
        "idempotency_key": f"{currency}-{amount}"})  # fmt: skip
    assert started.status_code == 201, started.text
    on_wallet_page(started.json()["redirect_url"], "approve")
    wait_delivered(sim, delivered)
    apply_events(settings, db)  # type: ignore[arg-type]
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT status, psp_payment_id FROM payments WHERE id = %s",
                           (started.json()["payment_id"],)).fetchone()  # fmt: skip
    assert row is not None
    assert row[0] == "succeeded"
    return str(row[1])


def test_planted_exceptions_in_the_ewallet_report_are_found_and_nothing_else(
    world: World,  # noqa: F811 (the fixture imported above)
    seeded_db_url: str,
) -> None:
    api, sim, settings, client, _ = world
    db = seeded_db_url
    no_limits(db, client.client_id)
    auth = token(api, client)
    deposits = [("100.00", "USD"), ("120.00", "EUR"), ("75.50", "EUR"), ("60.00", "USD"),
                ("250.00", "GBP"), ("99.99", "USD")]  # fmt: skip
    a, b, c, d, gbp, usd = (paid(api, sim, settings, db, auth, amount, currency, n + 1)
                            for n, (amount, currency) in enumerate(deposits))  # fmt: skip
    pay_out(api, sim, settings, db, auth, {"amount": "40.00", "currency": "USD",
            "idempotency_key": "w-1"}, 7)  # fmt: skip
    # the wallet refunds d; its callback is delivered but our worker has not applied it yet
    assert httpx.post(f"{sim}/_sim/payments/{d}/refund").is_success
    wait_delivered(sim, 8)

    original, columns, rows = fetch_report(sim, KEY)
    assert columns == ["transaction_id", "reference_id", "invoice_id", "initiated_utc",
                       "event_code", "gross_amount", "gross_currency", "fee_amount",
                       "exchange_rate", "settled_amount", "settled_currency"]  # fmt: skip
    assert [r["event_code"] for r in rows] == ["T0006"] * 6 + ["T0001", "T1107"]
    figures = {(r["reference_id"] or r["transaction_id"], r["event_code"]): (
        r["gross_amount"], r["gross_currency"], r["exchange_rate"], r["fee_amount"],
        r["settled_amount"], r["settled_currency"]) for r in rows}  # fmt: skip
    # 120.00 EUR x 1.0825 = 129.90 USD; fee 129.90 x 1.9 % + 0.25 = 2.7181 -> 2.72; 127.18
    assert figures[(b, "T0006")] == ("120.00", "EUR", "1.0825", "2.72", "127.18", "USD")
    # 250.00 GBP x 1.2650 = 316.25; fee 6.00875 + 0.25 = 6.25875 -> 6.26; 309.99
    assert figures[(gbp, "T0006")] == ("250.00", "GBP", "1.2650", "6.26", "309.99", "USD")
    # 100.00 USD: no conversion, fee 2.15 (the brand's e-wallet fee on it too)
    assert figures[(a, "T0006")] == ("100.00", "USD", "1", "2.15", "97.85", "USD")
    assert figures[(d, "T1107")] == ("-60.00", "USD", "1", "0.00", "-60.00", "USD")
    (payout,) = [r for r in rows if r["event_code"] == "T0001"]
    assert (payout["gross_amount"], payout["settled_amount"]) == ("-40.00", "-40.00")

    by_id = {r["transaction_id"]: r for r in rows}
    planted = [r for r in rows if r["transaction_id"] != a]  # a: left out (missing at the PSP)
    # b: 130.00 EUR, its conversion kept adding up: 130 x 1.0825 = 140.7250 -> 140.73 - 2.72
    by_id[b] |= {"gross_amount": "130.00", "settled_amount": "138.01"}
    by_id[c]["gross_currency"] = "GBP"  # c: paid in another currency than ours
    stranger = {**by_id[usd], "transaction_id": "EWP-NOBODY", "invoice_id": ""}

    kinds = found_in(db, "ewallet-sim", written(columns, [*planted, stranger]), 8)
    assert {(kind, e.source_id) for kind, e in kinds.items()} == {
        ("missing_at_psp", a), ("amount_differs", b), ("currency_differs", c),
        ("status_differs", d), ("missing_here", "EWP-NOBODY"),
    }  # fmt: skip
    differs = kinds["amount_differs"], kinds["currency_differs"], kinds["status_differs"]
    assert [(e.ours["amount"], e.ours["currency"], e.ours["status"], e.theirs["gross"],
             e.theirs["currency"], e.theirs["status"]) for e in differs] == [
        ("120.00", "EUR", "succeeded", "130.00", "EUR", "succeeded"),
        ("75.50", "EUR", "succeeded", "75.50", "GBP", "succeeded"),
        ("60.00", "USD", "succeeded", "60.00", "USD", "refunded"),
    ]  # fmt: skip
    with psycopg.connect(db) as conn:
        kept = conn.execute(
            """SELECT gross, currency, fee, net, settled_currency, rate FROM settlement_rows
               WHERE source_id = %s AND category = 'charge'""", (gbp,)).fetchone()  # fmt: skip
    assert kept == (D("250.00"), "GBP", D("6.26"), D("309.99"), "USD", D("1.2650"))

    # the wallet's own report of the day: only the refund we have not applied yet differs,
    # and that exception is open already
    again_adds_nothing(db, "ewallet-sim", original, 5)


def test_an_ewallet_row_whose_conversion_does_not_add_up_refuses_the_file(
    world: World,  # noqa: F811
    seeded_db_url: str,
) -> None:
    api, sim, settings, client, _ = world
    no_limits(seeded_db_url, client.client_id)
    auth = token(api, client)
    paid(api, sim, settings, seeded_db_url, auth, "50.00", "USD", 1)
    paid(api, sim, settings, seeded_db_url, auth, "80.00", "EUR", 2)
    _, columns, rows = fetch_report(sim, KEY)
    # 80.00 x 1.0825 = 86.60; fee 1.6454 + 0.25 -> 1.90; 84.70: 84.71 is a cent too many
    assert (rows[1]["settled_amount"], rows[1]["fee_amount"]) == ("84.70", "1.90")
    rows[1]["settled_amount"] = "84.71"
    reason = refused_whole(seeded_db_url, "ewallet-sim", written(columns, rows), 3)
    assert "settled_amount 84.71 USD is not gross 80.00 EUR x 1.0825" in reason
