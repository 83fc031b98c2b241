"""Objects the staff queues work on — a KYC application waiting for review with its documents,
an AML case raised by a monitoring alert, a lead, a task — made the way their writers make
them, for any brand (a brand made by a test gets the demo brand's KYC levels)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from backoffice.aml import cases
from backoffice.audit import Actor
from backoffice.crm import tasks
from backoffice.crm.leads import capture_lead
from backoffice.crm.submission import LeadSubmission
from backoffice.kyc.documents import store_document
from backoffice.payments.withdrawals import request_withdrawal
from backoffice.wallets.accounts import open_wallet, psp_clearing
from brokerstack.settings import Settings
from tests.integration.backoffice.support_kyc import PNG
from tests.integration.backoffice.support_staff import add_client
from warehouse import ledger

SYSTEM = Actor.system("test")
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Waiting:
    client_id: int
    application_id: int
    document_id: int  # the passport's front


def copy_kyc_levels(db_url: str, brand: int) -> None:
    """The demo brand's KYC ladder for ``brand`` (a brand made by a test has none)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            """INSERT INTO kyc_levels (brand_id, level, name, deposit_limit,
                   deposit_limit_currency, live_accounts, trading, withdrawals,
                   required_documents, review_months, second_approver)
               SELECT %s, level, name, deposit_limit, deposit_limit_currency, live_accounts,
                      trading, withdrawals, required_documents, review_months, second_approver
               FROM kyc_levels WHERE brand_id = (SELECT id FROM brands WHERE code = 'demo')
               ON CONFLICT DO NOTHING""",
            (brand,),
        )


def waiting_application(db_url: str, settings: Settings, brand: int, name: str = "kyc") -> Waiting:
    """A new client of ``brand`` whose identity documents wait in the review queue."""
    client = add_client(db_url, brand, f"{name}-{next(_numbers)}@example.com")
    with psycopg.connect(db_url) as conn:
        passport = store_document(
            conn, settings, client, "passport", "front", "passport.png", PNG, "DE"
        )
        store_document(conn, settings, client, "selfie", None, "selfie.png", PNG + b"s")
        conn.execute(
            "UPDATE kyc_applications SET status = 'in_review' WHERE id = %s",
            (passport.application_id,),
        )
    return Waiting(client, passport.application_id, passport.id)


def alert_case(db_url: str, client_id: int, owner: int | None = None) -> int:
    """A monitoring alert's case for the client; with ``owner`` assigned (under review)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            """INSERT INTO aml_alerts (client_id, rule, trade_date, fingerprint, details)
               VALUES (%s, 'structuring', current_date, %s, '{"deposits": 3}')""",
            (client_id, f"test-{client_id}-{next(_numbers)}"),
        )
        cases.open_alert_cases(conn)
        row = conn.execute(
            "SELECT id FROM aml_cases WHERE client_id = %s ORDER BY id DESC LIMIT 1",
            (client_id,),
        ).fetchone()
        assert row is not None
        if owner is not None:
            brand = conn.execute(
                "SELECT brand_id FROM clients WHERE id = %s", (client_id,)
            ).fetchone()
            assert brand is not None
            cases.assign(conn, SYSTEM, [brand[0]], int(row[0]), owner)
    return int(row[0])


def add_lead(db_url: str, brand: int, name: str = "lead") -> int:
    """A lead captured from the brand's website."""
    email = f"{name}-{next(_numbers)}@example.com"
    with psycopg.connect(db_url) as conn:
        return capture_lead(
            conn, brand, LeadSubmission(full_name="Lee Lead", email=email, country="DE")
        ).lead_id


def add_task(db_url: str, brand: int, owner: int, lead_id: int) -> int:
    """An open task about the lead, due tomorrow, the owner's own."""
    due = datetime.now(UTC) + timedelta(days=1)
    with psycopg.connect(db_url) as conn:
        return tasks.create_task(
            conn, Actor.staff(owner), owner, "Call back", due, brand_ids=[brand], lead_id=lead_id
        )


_withdrawals = itertools.count(1)


def pending_withdrawal(db_url: str, client_id: int) -> int:
    """A withdrawal of 10.00 USD waiting for finance: the client at KYC level 2 with a card
    deposit of 100.00 credited to the wallet first (what return-to-source needs)."""
    n = next(_withdrawals)
    with psycopg.connect(db_url) as conn:
        brand = conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s RETURNING brand_id",
                             (client_id,)).fetchone()  # fmt: skip
        assert brand is not None
        wallet = open_wallet(conn, client_id, "USD")
        clearing = psp_clearing(conn, brand[0], "card-sim", "USD")
        conn.execute(
            """INSERT INTO payments (client_id, brand_id, wallet_id, psp, psp_payment_id,
                                     idempotency_key, direction, method, amount, currency,
                                     status, received_amount)
               VALUES (%s, %s, %s, 'card-sim', %s, %s, 'deposit', 'card', 100, 'USD',
                       'succeeded', 100)""",
            (client_id, brand[0], wallet.id, f"pi_matrix_{client_id}_{n}",
             f"matrix-deposit-{client_id}-{n}"),
        )  # fmt: skip
        credit = ledger.move(
            f"matrix-deposit-{client_id}-{n}",
            "USD",
            "deposit",
            clearing,
            wallet.ledger_account_id,
            Decimal(100),
        )
        ledger.post(conn, [credit])
        conn.commit()
        found = request_withdrawal(conn, client_id, Decimal(10), "USD", "card-sim",
                                   f"matrix-{n}")  # fmt: skip
        return found.id


def open_recon_exception(db_url: str, brand_id: int) -> int:
    """An open reconciliation exception of the brand (an amount the PSP settled otherwise)."""
    n = next(_withdrawals)
    with psycopg.connect(db_url) as conn:
        file_id = conn.execute(
            """INSERT INTO recon_files (kind, source, filename, sha256, row_count)
               VALUES ('settlement', 'card-sim', 'matrix.csv', encode(sha256(%s::bytea), 'hex'),
                       0) RETURNING id""",
            (f"matrix-{brand_id}-{n}".encode(),),
        ).fetchone()  # fmt: skip
        assert file_id is not None
        row = conn.execute(
            """INSERT INTO recon_exceptions (fingerprint, kind, provider, file_id, brand_id,
                                             source_id, ours, theirs)
               VALUES (%s, 'amount_differs', 'card-sim', %s, %s, %s, '{"amount": "10.00"}',
                       '{"gross": "11.00"}') RETURNING id""",
            (f"matrix-{brand_id}-{n}", file_id[0], brand_id, f"pi_matrix_{n}"),
        ).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])
