"""Applying the PSP events the inbox holds (the worker's ``payments.inbox`` job).

Rows are claimed ``FOR UPDATE SKIP LOCKED``; each is applied — the payment's new state, its
``payment_events`` row naming the inbox event, and on success the ledger's credit keyed by the
payment (``payment:<id>:credit``) — and marked processed in one transaction. A worker killed
half-way leaves the row unprocessed and nothing of it applied; the next round applies it once.

States move forward only: a late or repeated event never undoes a later state (a declined
attempt followed by a successful one ends succeeded; a success is never failed afterwards).
The credit is what the PSP says it received (a crypto payer may send another amount than
asked; the fee is then the brand's on what arrived), less nothing: the PSP's fee is the
broker's cost (``psp_fees``), not the client's. A crypto transfer is matched by its deposit
address: to the oldest deposit waiting there, else it is a deposit of its own.
The first successful deposit of a client is its FTD.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import psycopg

from backoffice.aml.cases import open_chargeback_case
from backoffice.audit import Actor, record
from backoffice.crm.events import write_event
from backoffice.payments import routing, withdrawals
from backoffice.payments.events import payment_event
from backoffice.payments.providers import Provider, PspEvent, providers
from backoffice.payments.psp import plain
from backoffice.wallets.accounts import broker_account, open_wallet, psp_clearing
from backoffice.worker import Job, JobContext
from warehouse import ledger

log = logging.getLogger(__name__)

ACTOR = Actor.system("payments")
BATCH = 200
MAX_ATTEMPTS = 10
_ROW = (
    "id, client_id, brand_id, wallet_id, status, amount, currency, fee, direction, method, "
    "updated_at"
)
_RANK = {"created": 0, "pending": 1, "requires_action": 2, "failed": 3, "canceled": 3,
         "succeeded": 4, "refunded": 5, "chargeback": 5}  # fmt: skip


def process_inbox(
    conn: psycopg.Connection[Any], known: Mapping[str, Provider], limit: int = BATCH
) -> int:
    """Apply up to ``limit`` unprocessed PSP events (in the caller's transaction)."""
    rows = conn.execute(
        """SELECT id, provider, raw_body FROM webhook_inbox
           WHERE processed_at IS NULL AND provider = ANY(%s) AND attempts < %s
           ORDER BY received_at, id LIMIT %s FOR UPDATE SKIP LOCKED""",
        (list(known), MAX_ATTEMPTS, limit),
    ).fetchall()
    for inbox_id, name, raw_body in rows:
        try:
            with conn.transaction():
                note = apply_event(conn, inbox_id, name, known[name].parse(bytes(raw_body)))
        except (ValueError, KeyError, TypeError, ledger.LedgerError, psycopg.DataError,
                psycopg.IntegrityError) as exc:  # fmt: skip
            note, done = f"{type(exc).__name__}: {exc}", False
            log.warning("PSP event %s not applied: %s", inbox_id, note)
        else:
            done = True
        conn.execute(
            """UPDATE webhook_inbox
               SET processed_at = CASE WHEN %s THEN now() END, attempts = attempts + 1,
                   last_error = %s
               WHERE id = %s""",
            (done, note, inbox_id),
        )
    return len(rows)


def apply_event(
    conn: psycopg.Connection[Any], inbox_id: int | None, psp: str, event: PspEvent
) -> str | None:
    """Apply one event; a note when it changes nothing."""
    row = conn.execute(
        f"SELECT {_ROW} FROM payments WHERE psp = %s AND psp_payment_id = %s FOR UPDATE",
        (psp, event.psp_payment_id),
    ).fetchone()
    if row is None and event.payment_id is not None:
        # our update after the PSP's answer may not have happened (a crash): our id is in
        # the event's metadata
        row = conn.execute(
            f"""SELECT {_ROW} FROM payments
                WHERE id = %s AND psp = %s AND psp_payment_id IS NULL FOR UPDATE""",
            (event.payment_id, psp),
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE payments SET psp_payment_id = %s WHERE id = %s",
                         (event.psp_payment_id, row[0]))  # fmt: skip
    if row is None and event.address is not None:
        row = _transfer_payment(conn, psp, event)
    if row is None:
        return f"no payment of ours for {psp} {event.psp_payment_id}"
    payment_id, client_id, brand_id, wallet_id, status, amount, currency, fee, direction = row[:9]
    if _RANK.get(event.status, -1) <= _RANK[status]:
        payment_event(conn, payment_id, f"ignored:{event.status}", {"event": event.event_id,
               "status": status}, inbox_id)  # fmt: skip
        return f"{event.status} after {status}: ignored"
    if direction == "withdrawal":
        if event.status not in ("succeeded", "failed"):
            return f"{event.status} of a payout: nothing to do"
        conn.execute(
            """UPDATE payments SET status = %s, failure = %s, succeeded_at = %s,
                                   updated_at = now() WHERE id = %s""",
            (event.status, event.failure if event.status == "failed" else None,
             event.at if event.status == "succeeded" else None, payment_id),
        )  # fmt: skip
        payment_event(conn, payment_id, event.status, {"event": event.event_id}, inbox_id)
        withdrawals.settle(conn, payment_id, event.status == "succeeded", event.failure,
                           event.at)  # fmt: skip
        return None
    if event.status in ("refunded", "chargeback") and status != "succeeded":
        return f"{event.status} of a deposit that was {status}: nothing to take back"
    changes: dict[str, Any] = {"status": event.status}
    if event.status == "succeeded":
        if status == "canceled":
            changes["failure"] = None  # paid after it expired: the money is the client's
        if event.currency is not None and event.currency != currency:
            raise ValueError(f"paid in {event.currency}, asked in {currency}")
        received = event.amount if event.amount is not None else amount
        if received != amount:  # the PSP's fee is on what arrived
            fee = _fee(conn, brand_id, psp, str(row[9]), received, fee)
            changes["fee"] = fee
        changes |= _credit(conn, payment_id, client_id, brand_id, wallet_id, psp, received,
                           currency, fee, event)  # fmt: skip
    elif event.status in ("failed", "canceled"):
        changes["failure"] = event.failure or event.status
    elif event.status in ("refunded", "chargeback"):
        _take_back(conn, payment_id, client_id, brand_id, wallet_id, psp, currency, event)
    assignments = ", ".join(f"{k} = %({k})s" for k in changes)
    conn.execute(f"UPDATE payments SET {assignments}, updated_at = now() WHERE id = %(id)s",
                 {**changes, "id": payment_id})  # fmt: skip
    facts = {
        "payment_id": payment_id,
        "status": event.status,
        "amount": plain(amount),
        "currency": currency,
        **{
            k: plain(v) if isinstance(v, Decimal) else str(v)
            for k, v in changes.items()
            if k != "status" and v is not None
        },
    }
    payment_event(conn, payment_id, event.status, {"event": event.event_id}, inbox_id)
    record(conn, ACTOR, f"payment.deposit_{event.status}", "payment", payment_id,
           {"status": status}, facts)  # fmt: skip
    # the PSP's clock, in whole seconds, may put a step before the one we recorded last
    write_event(conn, f"payment.deposit_{event.status}", client_id=client_id, payload=facts,
                occurred_at=max(event.at, row[10]))  # fmt: skip
    return None


def _transfer_payment(conn: psycopg.Connection[Any], psp: str, event: PspEvent) -> Any:
    """The payment a transfer to a deposit address is (a crypto gateway's, first seen): the
    oldest deposit waiting at that address takes it; with none waiting (a second transfer, one
    nobody asked for) it is a deposit of its own, for what arrived, so no money is lost."""
    owner = conn.execute(
        """SELECT client_id, currency FROM psp_deposit_addresses
           WHERE provider = %s AND address = %s""",
        (psp, event.address),
    ).fetchone()
    if owner is None or event.amount is None:
        return None
    client_id, currency = owner
    row = conn.execute(
        f"""SELECT {_ROW} FROM payments
            WHERE psp = %s AND client_id = %s AND deposit_address = %s AND currency = %s
              AND direction = 'deposit' AND psp_payment_id IS NULL
              AND status IN ('created', 'pending')
            ORDER BY id LIMIT 1 FOR UPDATE""",
        (psp, client_id, event.address, currency),
    ).fetchone()
    if row is None:
        client = conn.execute("SELECT brand_id, country FROM clients WHERE id = %s",
                              (client_id,)).fetchone()  # fmt: skip
        assert client is not None
        wallet = open_wallet(conn, client_id, currency)
        created = conn.execute(
            """INSERT INTO payments (client_id, brand_id, wallet_id, psp, psp_payment_id,
                                     idempotency_key, direction, method, amount, currency, fee,
                                     payer_country, deposit_address, status)
               VALUES (%s, %s, %s, %s, %s, %s, 'deposit', 'crypto', %s, %s, %s, %s, %s,
                       'pending')
               RETURNING id""",
            (client_id, client[0], wallet.id, psp, event.psp_payment_id,
             f"transfer:{psp}:{event.psp_payment_id}", event.amount, currency,
             _fee(conn, client[0], psp, "crypto", event.amount, Decimal(0)), client[1],
             event.address),
        ).fetchone()  # fmt: skip
        assert created is not None
        payment_event(conn, int(created[0]), "created", {"provider": psp, "unrequested": True,
                      "transfer": event.psp_payment_id})  # fmt: skip
        return conn.execute(f"SELECT {_ROW} FROM payments WHERE id = %s FOR UPDATE",
                            (created[0],)).fetchone()  # fmt: skip
    conn.execute("UPDATE payments SET psp_payment_id = %s, updated_at = now() WHERE id = %s",
                 (event.psp_payment_id, row[0]))  # fmt: skip
    return row


def _fee(conn: psycopg.Connection[Any], brand_id: int, psp: str, method: str, amount: Decimal,
         otherwise: Decimal) -> Decimal:  # fmt: skip
    """The brand's fee at ``psp`` on ``amount`` (``otherwise`` where it has no such method)."""
    found = [m for m in routing.brand_methods(conn, brand_id)
             if m.provider == psp and m.method == method]  # fmt: skip
    return found[0].fee(amount) if found else otherwise


def _credit(
    conn: psycopg.Connection[Any],
    payment_id: int,
    client_id: int,
    brand_id: int,
    wallet_id: int,
    psp: str,
    received: Decimal,
    currency: str,
    fee: Decimal,
    event: PspEvent,
) -> dict[str, Any]:
    wallet = conn.execute("SELECT ledger_account_id FROM wallets WHERE id = %s",
                          (wallet_id,)).fetchone()  # fmt: skip
    assert wallet is not None
    clearing = psp_clearing(conn, brand_id, psp, currency)
    entries = [ledger.Entry(wallet[0], -received), ledger.Entry(clearing, received - fee)]
    if fee:
        entries.append(ledger.Entry(broker_account(conn, brand_id, "psp_fees", currency), fee))
    [posted] = ledger.post(conn, [ledger.Transfer(
        f"payment:{payment_id}:credit", currency, "deposit", tuple(entries),
        description=f"deposit {payment_id} via {psp} ({event.psp_payment_id})",
        created_by="payments", at=event.at,
    )])  # fmt: skip
    first = conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM payments WHERE client_id = %s AND is_ftd)",
        (client_id,),
    ).fetchone()
    return {"received_amount": received, "ledger_transfer_id": posted.transfer_id,
            "succeeded_at": event.at, "is_ftd": bool(first and first[0])}  # fmt: skip


def _take_back(
    conn: psycopg.Connection[Any],
    payment_id: int,
    client_id: int,
    brand_id: int,
    wallet_id: int,
    psp: str,
    currency: str,
    event: PspEvent,
) -> None:
    """The PSP took the deposit back (the client's refund, or a chargeback): a new reversing
    transfer, never an edit. The wallet gives what it has available; the rest becomes the
    client's debt (``client_receivable``), never a negative wallet. A chargeback also opens a
    case and suspends the client."""
    credited = conn.execute(
        "SELECT received_amount FROM payments WHERE id = %s", (payment_id,)
    ).fetchone()
    assert credited is not None
    amount = min(event.amount or credited[0], credited[0])
    wallet = conn.execute("SELECT ledger_account_id FROM wallets WHERE id = %s",
                          (wallet_id,)).fetchone()  # fmt: skip
    assert wallet is not None
    available = ledger.available(conn, wallet[0]) or Decimal(0)
    taken = min(max(available, Decimal(0)), amount)
    entries = [ledger.Entry(psp_clearing(conn, brand_id, psp, currency), -amount)]
    if taken:
        entries.append(ledger.Entry(wallet[0], taken))
    if amount - taken:
        entries.append(ledger.Entry(_receivable(conn, client_id, brand_id, currency),
                                    amount - taken))  # fmt: skip
    kind = "chargeback" if event.status == "chargeback" else "refund"
    ledger.post(conn, [ledger.Transfer(
        f"payment:{payment_id}:{kind}", currency, kind, tuple(entries),
        description=f"{kind} of deposit {payment_id} via {psp}", created_by="payments",
        at=event.at,
    )])  # fmt: skip
    if event.status == "chargeback":
        open_chargeback_case(conn, client_id, payment_id)


def _receivable(conn: psycopg.Connection[Any], client_id: int, brand_id: int,
                currency: str) -> int:  # fmt: skip
    code = f"client:{client_id}:receivable:{currency}"
    conn.execute(
        """INSERT INTO ledger_accounts (code, kind, currency, brand_id, client_id)
           VALUES (%s, 'client_receivable', %s, %s, %s) ON CONFLICT (code) DO NOTHING""",
        (code, currency, brand_id, client_id),
    )
    row = conn.execute("SELECT id FROM ledger_accounts WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def _run(context: JobContext) -> int:
    known = providers(context.settings)
    try:
        with context.connection() as conn:
            return process_inbox(conn, known)
    finally:
        for provider in known.values():
            provider.close()


# a PSP's confirmation credits the wallet within about a second
INBOX_JOB = Job("payments.inbox", 1.0, _run)
