"""Withdrawals: request -> funds held -> checks -> finance's approval -> the PSP's payout ->
paid (the hold posted) or failed / rejected / canceled (the hold released).

* The request holds the amount in the wallet at once (a ledger pending transfer towards the
  PSP's clearing account), so two requests can never spend the same money; it is refused
  (nothing held) below a KYC level that allows withdrawals, with an open AML case, or beyond
  what the client deposited through that PSP and has not yet taken back (return to source:
  money goes back the way it came, up to what each method brought in).
* Approval is finance's (``payments.approve``): one staff member, or two different ones above
  the brand's maker-checker threshold; a staff member who asked for the withdrawal on the
  client's behalf cannot approve it, nor can one approve twice. Staff sessions exist only
  after the second factor.
* The worker sends approved withdrawals to the PSP (``payments.payouts``: the call carries the
  withdrawal's key, so a retry never pays twice) and the PSP's signed event settles them
  (:mod:`backoffice.payments.processing`).

Every step is audited, lands on the client's timeline and in ``payment_events``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from backoffice.audit import Actor, record
from backoffice.brands.store import brand_rules
from backoffice.crm.events import write_event
from backoffice.errors import Refused, invalid, not_found
from backoffice.kyc import levels
from backoffice.kyc.errors import KycError
from backoffice.payments.crypto import ADDRESS_PATTERN
from backoffice.payments.deposits import convert
from backoffice.payments.events import payment_event
from backoffice.payments.providers import PayoutRequest, Provider, ProviderUnavailable, providers
from backoffice.scope import BrandScope
from backoffice.wallets.accounts import open_wallet, psp_clearing
from backoffice.worker import Job, JobContext
from warehouse import ledger

log = logging.getLogger(__name__)

HOLD_FOR = timedelta(days=30)
_OPEN_CASES = ("open", "under_review", "escalated")
_TAKEN = ("pending_approval", "approved", "sent", "paid")


@dataclass(frozen=True, slots=True)
class Withdrawal:
    id: int
    client_id: int
    status: str
    amount: Decimal
    currency: str
    psp: str
    approvals_needed: int
    approvals: int
    failure: str | None
    requested_at: datetime
    updated_at: datetime


_SELECT = """SELECT w.id, w.client_id, w.status, w.amount, w.currency, w.psp, w.approvals_needed,
                    (SELECT count(*) FROM withdrawal_approvals a WHERE a.withdrawal_id = w.id),
                    w.failure, w.requested_at, w.updated_at
             FROM withdrawals w"""


def _withdrawal(row: Any) -> Withdrawal:
    return Withdrawal(int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], int(row[6]),
                      int(row[7]), row[8], row[9], row[10])  # fmt: skip


def _refuse(kind: Any, code: str, message: str, **details: Any) -> Refused:
    return Refused(kind, code, message, {"source": "backoffice", **details})


def find(conn: psycopg.Connection[Any], client_id: int, withdrawal_id: int) -> Withdrawal:
    row = conn.execute(f"{_SELECT} WHERE w.id = %s AND w.client_id = %s",
                       (withdrawal_id, client_id)).fetchone()  # fmt: skip
    if row is None:
        raise not_found("withdrawal", withdrawal_id)
    return _withdrawal(row)


def history(conn: psycopg.Connection[Any], client_id: int, limit: int = 50) -> list[Withdrawal]:
    rows = conn.execute(f"{_SELECT} WHERE w.client_id = %s ORDER BY w.requested_at DESC, w.id "
                        "DESC LIMIT %s", (client_id, limit)).fetchall()  # fmt: skip
    return [_withdrawal(r) for r in rows]


def queue(conn: psycopg.Connection[Any], brands: BrandScope) -> list[Withdrawal]:
    """What waits for finance's approval in these brands, oldest first."""
    rows = conn.execute(
        f"""{_SELECT} WHERE w.status = 'pending_approval'
              AND (%(b)s::bigint[] IS NULL OR w.brand_id = ANY(%(b)s))
            ORDER BY w.requested_at, w.id""",
        {"b": brands.param},
    ).fetchall()
    return [_withdrawal(r) for r in rows]


def returnable(conn: psycopg.Connection[Any], client_id: int, psp: str, currency: str) -> Decimal:
    """What the client may still take back through ``psp``: deposited there, less what was
    taken back already (or is on its way)."""
    row = conn.execute(
        """SELECT coalesce((SELECT sum(coalesce(received_amount, amount)) FROM payments
                            WHERE client_id = %(c)s AND psp = %(p)s AND currency = %(ccy)s
                              AND direction = 'deposit' AND status = 'succeeded'), 0)
                - coalesce((SELECT sum(amount) FROM withdrawals
                            WHERE client_id = %(c)s AND psp = %(p)s AND currency = %(ccy)s
                              AND status = ANY(%(taken)s)), 0)""",
        {"c": client_id, "p": psp, "ccy": currency, "taken": list(_TAKEN)},
    ).fetchone()
    assert row is not None
    return Decimal(row[0])


def _deposit_method(conn: psycopg.Connection[Any], client_id: int, psp: str,
                    currency: str) -> str:  # fmt: skip
    """The method the client's deposits through ``psp`` came by (a withdrawal goes back so)."""
    row = conn.execute(
        """SELECT method FROM payments WHERE client_id = %s AND psp = %s AND currency = %s
           AND direction = 'deposit' AND status = 'succeeded' ORDER BY succeeded_at DESC
           LIMIT 1""",
        (client_id, psp, currency),
    ).fetchone()
    return "card" if row is None else str(row[0])


def _source_psp(conn: psycopg.Connection[Any], client_id: int, currency: str) -> str:
    rows = conn.execute(
        """SELECT DISTINCT psp FROM payments WHERE client_id = %s AND currency = %s
           AND direction = 'deposit' AND status = 'succeeded' ORDER BY psp""",
        (client_id, currency),
    ).fetchall()
    if not rows:
        raise _refuse("conflict", "return_to_source", f"no {currency} deposit to pay back to: "
                      "withdrawals go back the way the money came")  # fmt: skip
    return max((str(r[0]) for r in rows), key=lambda p: returnable(conn, client_id, p, currency))


def request_withdrawal(
    conn: psycopg.Connection[Any],
    client_id: int,
    amount: Decimal,
    currency: str,
    psp: str | None,
    key: str,
    *,
    staff_user_id: int | None = None,
    destination: str | None = None,
) -> Withdrawal:
    """Hold the amount and queue the withdrawal for approval (committed); ``psp`` None: back
    through the PSP the client deposited the most with that is not yet paid back. A crypto
    withdrawal needs the ``destination`` address (no other method takes one: they go back to
    the deposit's source). The same key answers the first request; refused with nothing held
    when a check fails."""
    currency = currency.upper()
    if psp is None:
        psp = _source_psp(conn, client_id, currency)
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise invalid("amount", "a positive amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise invalid("amount", "at most two decimals")
    if not key or len(key) > 100:
        raise invalid("idempotency_key", "1 to 100 characters")
    own_key = f"withdrawal:{client_id}:{key}"
    existing = conn.execute(f"{_SELECT} WHERE w.idempotency_key = %s", (own_key,)).fetchone()
    if existing is not None:
        found = _withdrawal(existing)
        if (found.amount, found.currency, found.psp) != (amount, currency, psp):
            raise _refuse("conflict", "idempotency_conflict", "this key was used for another "
                          "withdrawal", withdrawal_id=found.id)  # fmt: skip
        return found
    client = conn.execute("SELECT brand_id, status FROM clients WHERE id = %s",
                          (client_id,)).fetchone()  # fmt: skip
    if client is None:
        raise not_found("client", client_id)
    brand_id, status = client
    if status != "active":
        raise _refuse("forbidden", "client_not_active", f"the account is {status}")
    try:
        standing = levels.client_standing(conn, client_id)
    except KycError as exc:
        raise _refuse("forbidden", "kyc_not_approved", exc.message) from exc
    if not standing.level.withdrawals:
        raise _refuse("forbidden", "kyc_not_approved",
                      f"withdrawals need a higher KYC level than {standing.level.name!r}",
                      kyc_level=standing.level.level,
                      missing=[m.requirement for m in standing.missing])  # fmt: skip
    case = conn.execute("SELECT id FROM aml_cases WHERE client_id = %s AND status = ANY(%s) "
                        "LIMIT 1", (client_id, list(_OPEN_CASES))).fetchone()  # fmt: skip
    if case is not None:
        raise _refuse(
            "forbidden",
            "compliance_review",
            "a compliance review of your account is open; we will contact you",
        )
    allowed = returnable(conn, client_id, psp, currency)
    if amount > allowed:
        raise _refuse("conflict", "return_to_source",
                      f"withdrawals through {psp} go back to what you deposited there: "
                      f"{allowed:.2f} {currency} at most", psp=psp,
                      returnable=f"{allowed:.2f}")  # fmt: skip
    method = _deposit_method(conn, client_id, psp, currency)
    if method == "crypto" and destination is None:
        raise invalid("destination", "the address to pay the crypto withdrawal to")
    if destination is not None and method != "crypto":
        raise invalid("destination", f"only crypto withdrawals take an address; {method} goes "
                      "back where the money came from")  # fmt: skip
    if destination is not None and not re.fullmatch(ADDRESS_PATTERN, destination):
        raise invalid("destination", "an address of 26 to 64 letters and digits")
    rules = brand_rules(conn, brand_id)
    threshold_amount = convert(conn, amount, currency, rules.maker_checker_currency)
    needed = 2 if rules.needs_second_approver(threshold_amount) else 1
    wallet = open_wallet(conn, client_id, currency)
    clearing = psp_clearing(conn, brand_id, psp, currency)
    with conn.transaction():
        try:
            hold = ledger.reserve(conn, ledger.Hold(
                own_key, currency, "withdrawal", wallet.ledger_account_id, clearing, amount,
                datetime.now(UTC) + HOLD_FOR, description=f"withdrawal via {psp}",
                created_by=f"client:{client_id}",
            ))  # fmt: skip
        except ledger.InsufficientFunds as exc:
            left = exc.details["available"].quantize(Decimal("0.01"))
            raise _refuse(
                "conflict",
                "insufficient_funds",
                f"your {currency} wallet has {left:f} {currency} available",
                available=f"{left:f}",
            ) from exc
        row = conn.execute(
            """INSERT INTO withdrawals (client_id, brand_id, wallet_id, idempotency_key, amount,
                                        currency, method, psp, pending_id, approvals_needed,
                                        requested_by_staff, destination)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (idempotency_key) DO NOTHING RETURNING id""",
            (client_id, brand_id, wallet.id, own_key, amount, currency, method, psp, hold.id,
             needed, staff_user_id, destination),
        ).fetchone()  # fmt: skip
        if row is None:
            raced = conn.execute(f"{_SELECT} WHERE w.idempotency_key = %s",
                                 (own_key,)).fetchone()  # fmt: skip
            assert raced is not None
            return _withdrawal(raced)
        withdrawal_id = int(row[0])
        facts = {"withdrawal_id": withdrawal_id, "amount": str(amount), "currency": currency,
                 "psp": psp, "approvals_needed": needed}  # fmt: skip
        actor = Actor.staff(staff_user_id) if staff_user_id else Actor.client(client_id)
        _step(conn, actor, client_id, withdrawal_id, "withdrawal.requested", None, facts)
    conn.commit()
    return find(conn, client_id, withdrawal_id)


def _step(conn: psycopg.Connection[Any], actor: Actor, client_id: int, withdrawal_id: int,
          action: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:  # fmt: skip
    record(conn, actor, action, "withdrawal", withdrawal_id, before, after)
    write_event(conn, action, client_id=client_id,
                staff_user_id=int(actor.id) if actor.type == "staff" else None,
                payload={"withdrawal_id": withdrawal_id, **after})  # fmt: skip


def _locked(conn: psycopg.Connection[Any], brands: BrandScope, withdrawal_id: int) -> Any:
    row = conn.execute(
        """SELECT id, client_id, status, approvals_needed, requested_by_staff, pending_id
           FROM withdrawals WHERE id = %(w)s
             AND (%(b)s::bigint[] IS NULL OR brand_id = ANY(%(b)s)) FOR UPDATE""",
        {"w": withdrawal_id, "b": brands.param},
    ).fetchone()
    if row is None:
        raise not_found("withdrawal", withdrawal_id)
    return row


def approve(
    conn: psycopg.Connection[Any], actor: Actor, brands: BrandScope, withdrawal_id: int
) -> Withdrawal:
    """Finance's approval; with the approvals the withdrawal needs, it is ``approved`` (the
    worker sends it). The requester cannot approve; the same staff member approving again
    answers the withdrawal as it stands; a decided withdrawal is a conflict."""
    staff = int(actor.id)
    _, client_id, status, needed, requester, _ = _locked(conn, brands, withdrawal_id)
    if requester == staff:
        raise _refuse(
            "forbidden",
            "checker_is_maker",
            "the staff member who asked for the withdrawal cannot approve it",
        )
    already = conn.execute("SELECT 1 FROM withdrawal_approvals WHERE withdrawal_id = %s AND "
                           "staff_user_id = %s", (withdrawal_id, staff)).fetchone()  # fmt: skip
    if already is not None:
        conn.commit()
        return find(conn, client_id, withdrawal_id)
    if status != "pending_approval":
        raise _refuse("conflict", "already_decided", f"the withdrawal is {status}",
                      status=status)  # fmt: skip
    conn.execute("INSERT INTO withdrawal_approvals (withdrawal_id, staff_user_id) VALUES (%s, %s)",
                 (withdrawal_id, staff))  # fmt: skip
    count = conn.execute("SELECT count(*) FROM withdrawal_approvals WHERE withdrawal_id = %s",
                         (withdrawal_id,)).fetchone()  # fmt: skip
    assert count is not None
    done = int(count[0]) >= needed
    if done:
        conn.execute("UPDATE withdrawals SET status = 'approved', decided_by = %s, "
                     "decided_at = now(), updated_at = now() WHERE id = %s",
                     (staff, withdrawal_id))  # fmt: skip
    _step(conn, actor, client_id, withdrawal_id, "withdrawal.approved" if done else
          "withdrawal.first_approval", {"status": status},
          {"status": "approved" if done else status, "approvals": int(count[0]),
           "approvals_needed": needed})  # fmt: skip
    conn.commit()
    return find(conn, client_id, withdrawal_id)


def reject(conn: psycopg.Connection[Any], actor: Actor, brands: BrandScope,
           withdrawal_id: int, reason: str) -> Withdrawal:  # fmt: skip
    """Finance refuses it: the hold is released."""
    _, client_id, status, _, _, pending_id = _locked(conn, brands, withdrawal_id)
    return _end(conn, actor, client_id, withdrawal_id, status, pending_id, "rejected", reason)


def cancel(conn: psycopg.Connection[Any], client_id: int, withdrawal_id: int) -> Withdrawal:
    """The client takes back a request not yet approved: the hold is released."""
    row = conn.execute(
        "SELECT status, pending_id FROM withdrawals WHERE id = %s AND client_id = %s FOR UPDATE",
        (withdrawal_id, client_id),
    ).fetchone()
    if row is None:
        raise not_found("withdrawal", withdrawal_id)
    return _end(conn, Actor.client(client_id), client_id, withdrawal_id, row[0], row[1],
                "canceled", "canceled by the client")  # fmt: skip


def _end(conn: psycopg.Connection[Any], actor: Actor, client_id: int, withdrawal_id: int,
         status: str, pending_id: int, outcome: str, reason: str) -> Withdrawal:  # fmt: skip
    if status == outcome:
        conn.commit()
        return find(conn, client_id, withdrawal_id)
    if status != "pending_approval":
        raise _refuse("conflict", "already_decided", f"the withdrawal is {status}",
                      status=status)  # fmt: skip
    ledger.void_pending(conn, pending_id, reason, by=actor.type)
    conn.execute("UPDATE withdrawals SET status = %s, reason = %s, decided_at = now(), "
                 "updated_at = now() WHERE id = %s", (outcome, reason, withdrawal_id))  # fmt: skip
    _step(conn, actor, client_id, withdrawal_id, f"withdrawal.{outcome}", {"status": status},
          {"status": outcome, "reason": reason})  # fmt: skip
    conn.commit()
    return find(conn, client_id, withdrawal_id)


def send_approved(conn: psycopg.Connection[Any], known: Mapping[str, Provider],
                  limit: int = 50) -> int:  # fmt: skip
    """The worker's round: each approved withdrawal's payout at its PSP (a ``payments`` row of
    direction withdrawal first, whose id the PSP echoes back); a PSP that cannot be reached
    leaves it approved for the next round."""
    rows = conn.execute(
        """SELECT id, client_id, brand_id, wallet_id, amount, currency, psp, idempotency_key,
                  payment_id, method, destination
           FROM withdrawals WHERE status = 'approved' ORDER BY decided_at, id LIMIT %s""",
        (limit,),
    ).fetchall()
    conn.commit()
    sent = 0
    for (wid, client_id, brand_id, wallet_id, amount, currency, psp, key, payment_id, method,
         destination) in rows:  # fmt: skip
        provider = known.get(psp)
        if provider is None:
            continue
        if payment_id is None:
            with conn.transaction():
                created = conn.execute(
                    """INSERT INTO payments (client_id, brand_id, wallet_id, psp,
                                             idempotency_key, direction, method, amount,
                                             currency, status)
                       VALUES (%s, %s, %s, %s, %s, 'withdrawal', %s, %s, %s, 'created')
                       ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = now()
                       RETURNING id""",
                    (client_id, brand_id, wallet_id, psp, f"payout:{key}", method, amount,
                     currency),
                ).fetchone()  # fmt: skip
                assert created is not None
                payment_id = int(created[0])
                conn.execute("UPDATE withdrawals SET payment_id = %s WHERE id = %s",
                             (payment_id, wid))  # fmt: skip
                payment_event(conn, payment_id, "created", {"withdrawal_id": wid})
            conn.commit()
        # the deposit it goes back to: the latest through this PSP in the payout's currency
        source = conn.execute(
            """SELECT psp_payment_id FROM payments WHERE client_id = %s AND psp = %s AND
                      currency = %s AND direction = 'deposit' AND status = 'succeeded'
               ORDER BY succeeded_at DESC LIMIT 1""",
            (client_id, psp, currency)).fetchone()  # fmt: skip
        try:
            payout = provider.create_payout(PayoutRequest(
                payment_id, f"payout:{key}", amount, currency, client_id,
                source[0] if source else None, destination))  # fmt: skip
        except ProviderUnavailable as exc:
            log.warning("withdrawal %s: %s", wid, exc)
            conn.rollback()
            continue
        except Refused as exc:  # the PSP will not pay it (4xx): released, the next one goes
            log.warning("withdrawal %s refused by %s: %s %s", wid, psp, exc, exc.details)
            conn.rollback()
            with conn.transaction():
                conn.execute("UPDATE payments SET status = 'failed', failure = 'psp_refused', "
                             "updated_at = now() WHERE id = %s", (payment_id,))  # fmt: skip
                payment_event(conn, payment_id, "failed", {"withdrawal_id": wid,
                              "refused": exc.details.get("status")})  # fmt: skip
                settle(conn, payment_id, False, "psp_refused", datetime.now(UTC))
            conn.commit()
            continue
        with conn.transaction():
            conn.execute("UPDATE payments SET psp_payment_id = %s, status = 'pending', "
                         "updated_at = now() WHERE id = %s AND psp_payment_id IS NULL",
                         (payout, payment_id))  # fmt: skip
            payment_event(conn, payment_id, "pending", {"withdrawal_id": wid, "payout": payout})
            conn.execute("UPDATE withdrawals SET status = 'sent', updated_at = now() "
                         "WHERE id = %s AND status = 'approved'", (wid,))  # fmt: skip
            _step(conn, Actor.system("payments"), client_id, wid, "withdrawal.sent",
                  {"status": "approved"}, {"status": "sent", "payout": payout})  # fmt: skip
        conn.commit()
        sent += 1
    return sent


def settle(conn: psycopg.Connection[Any], payment_id: int, paid: bool, failure: str | None,
           at: datetime) -> None:  # fmt: skip
    """The PSP's event about a payout (in the caller's transaction): paid -> the hold posted,
    failed -> released."""
    row = conn.execute("SELECT id, client_id, status, pending_id FROM withdrawals "
                       "WHERE payment_id = %s FOR UPDATE", (payment_id,)).fetchone()  # fmt: skip
    if row is None or row[2] not in ("sent", "approved"):
        return
    wid, client_id, status, pending_id = row
    if paid:
        done = ledger.post_pending(conn, pending_id, by="payments", at=at)
        conn.execute("UPDATE withdrawals SET status = 'paid', settle_transfer_id = %s, "
                     "updated_at = now() WHERE id = %s", (done.transfer_id, wid))  # fmt: skip
    else:
        ledger.void_pending(conn, pending_id, f"payout failed: {failure}", by="payments")
        conn.execute("UPDATE withdrawals SET status = 'failed', failure = %s, updated_at = now() "
                     "WHERE id = %s", (failure or "payout_failed", wid))  # fmt: skip
    outcome = "paid" if paid else "failed"
    _step(conn, Actor.system("payments"), client_id, wid, f"withdrawal.{outcome}",
          {"status": status}, {"status": outcome, "failure": failure})  # fmt: skip


def _run(context: JobContext) -> int:
    known = providers(context.settings)
    try:
        with context.connection() as conn:
            return send_approved(conn, known)
    finally:
        for provider in known.values():
            provider.close()


# an approved withdrawal reaches its PSP within a few seconds
PAYOUT_JOB = Job("payments.payouts", 2.0, _run)
