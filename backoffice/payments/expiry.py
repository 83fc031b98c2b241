"""Deposits the client started and never paid: canceled as ``expired`` once their method's
time is up, so an abandoned checkout stops counting against the client's KYC deposit limit.

The times follow the providers: a card checkout session lives 24 h (Stripe's default), an
e-wallet approval and a crypto deposit request a day too (a transfer reaching the client's
address later is credited all the same: it becomes a deposit of its own), a bank wire 14 days
(an international transfer takes several business days).

Expiring changes nothing that arrives later: ``canceled`` ranks below ``succeeded``, so a PSP's
late confirmation or a statement line quoting an expired wire's reference still credits the
money. Nothing is ever lost to the clock; only the limit is freed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from backoffice.audit import Actor, record
from backoffice.crm.events import write_event
from backoffice.payments.events import payment_event
from backoffice.payments.psp import plain
from backoffice.worker import Job, JobContext

ACTOR = Actor.system("payments")
LIFETIMES = {
    "card": timedelta(hours=24),
    "ewallet": timedelta(hours=24),
    "crypto": timedelta(hours=24),
    "bank_wire": timedelta(days=14),
}
UNPAID = ("created", "pending", "requires_action")
BATCH = 500


def expire_unpaid_deposits(conn: psycopg.Connection[Any], now: datetime) -> int:
    """Cancel every unpaid deposit past its method's lifetime (committed); how many."""
    expired = 0
    for method, lifetime in LIFETIMES.items():
        with conn.transaction():
            rows = conn.execute(
                """UPDATE payments SET status = 'canceled', failure = 'expired', updated_at = now()
                   WHERE id IN (SELECT id FROM payments
                                WHERE direction = 'deposit' AND method = %s
                                  AND status = ANY(%s) AND created_at < %s
                                ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
                   RETURNING id, client_id, amount, currency""",
                (method, list(UNPAID), now - lifetime, BATCH),
            ).fetchall()
            for payment_id, client_id, amount, currency in rows:
                facts = {"payment_id": payment_id, "status": "canceled", "failure": "expired",
                         "amount": plain(amount), "currency": currency,
                         "method": method}  # fmt: skip
                payment_event(conn, payment_id, "canceled", {"reason": "expired"})
                record(conn, ACTOR, "payment.deposit_canceled", "payment", payment_id,
                       {"status": "unpaid"}, facts)  # fmt: skip
                write_event(conn, "payment.deposit_canceled", client_id=client_id, payload=facts,
                            occurred_at=now)  # fmt: skip
            expired += len(rows)
    return expired


def _run(context: JobContext) -> int:
    with context.connection() as conn:
        now = conn.execute("SELECT now()").fetchone()
        assert now is not None
        return expire_unpaid_deposits(conn, now[0])


EXPIRY_JOB = Job("payments.expiry", 300.0, _run)
