"""Staff sign-offs on a reconciliation: an explanation of its difference, then an approval.

Both append a row (nothing is ever edited). The four-eyes rule: the approver must be neither
the preparer nor anyone who explained it; a difference can only be approved once explained.
Only the latest version of a day can be signed: an earlier one has been superseded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg


class SignOffRefused(ValueError):
    """A sign-off the rules do not allow; the message says which rule."""


@dataclass(frozen=True, slots=True)
class _Reconciliation:
    id: int
    brand_id: int
    difference: Decimal
    latest: bool


def explain(
    conn: psycopg.Connection[Any], reconciliation_id: int, staff_user_id: int, text: str
) -> int:
    """Record a staff member's explanation of a reconciliation; returns the sign-off's id."""
    if not text.strip():
        raise SignOffRefused("an explanation needs text")
    with conn.transaction():
        rec = _locked(conn, reconciliation_id)
        actor = _staff(conn, staff_user_id, rec)
        if _signers(conn, rec.id, "approver"):
            raise SignOffRefused(f"reconciliation {rec.id} is approved already")
        return _append(conn, rec.id, "explanation", staff_user_id, actor, text.strip())


def approve(conn: psycopg.Connection[Any], reconciliation_id: int, staff_user_id: int) -> int:
    """Record a staff member's approval of a reconciliation; returns the sign-off's id."""
    with conn.transaction():
        rec = _locked(conn, reconciliation_id)
        actor = _staff(conn, staff_user_id, rec)
        if _signers(conn, rec.id, "approver"):
            raise SignOffRefused(f"reconciliation {rec.id} is approved already")
        if staff_user_id in _signers(conn, rec.id, "preparer"):
            raise SignOffRefused("the approver must not be the preparer")
        explainers = _signers(conn, rec.id, "explanation")
        if staff_user_id in explainers:
            raise SignOffRefused("the approver must not be who explained the difference")
        if rec.difference != 0 and not explainers:
            raise SignOffRefused(
                f"reconciliation {rec.id} has a difference of {rec.difference}: explain it first"
            )
        return _append(conn, rec.id, "approver", staff_user_id, actor, "")


def _locked(conn: psycopg.Connection[Any], reconciliation_id: int) -> _Reconciliation:
    """The reconciliation, locked so that two sign-offs on it are decided one after the other."""
    row = conn.execute(
        """SELECT r.id, r.brand_id, r.difference, NOT EXISTS (
                   SELECT 1 FROM client_money_reconciliations n
                   WHERE n.brand_id = r.brand_id AND n.currency = r.currency
                     AND n.trade_date = r.trade_date AND n.version > r.version)
           FROM client_money_reconciliations r WHERE r.id = %s FOR UPDATE""",
        (reconciliation_id,),
    ).fetchone()
    if row is None:
        raise SignOffRefused(f"no reconciliation {reconciliation_id}")
    rec = _Reconciliation(*row)
    if not rec.latest:
        raise SignOffRefused(f"reconciliation {rec.id} has been superseded by a later version")
    return rec


def _staff(conn: psycopg.Connection[Any], staff_user_id: int, rec: _Reconciliation) -> str:
    row = conn.execute(
        "SELECT email, enabled, brand_id FROM staff_users WHERE id = %s", (staff_user_id,)
    ).fetchone()
    if row is None or not row[1]:
        raise SignOffRefused(f"staff user {staff_user_id} does not exist or is disabled")
    if row[2] is not None and row[2] != rec.brand_id:
        raise SignOffRefused(f"staff user {staff_user_id} does not work for this brand")
    return str(row[0])


def _signers(conn: psycopg.Connection[Any], reconciliation_id: int, role: str) -> set[int | None]:
    rows = conn.execute(
        """SELECT staff_user_id FROM client_money_signoffs
           WHERE reconciliation_id = %s AND role = %s""",
        (reconciliation_id, role),
    ).fetchall()
    return {r[0] for r in rows}


def _append(
    conn: psycopg.Connection[Any],
    reconciliation_id: int,
    role: str,
    staff_user_id: int,
    actor: str,
    explanation: str,
) -> int:
    row = conn.execute(
        """INSERT INTO client_money_signoffs (reconciliation_id, role, staff_user_id, actor,
                                              explanation)
           VALUES (%s, %s, %s, %s, %s) RETURNING id""",
        (reconciliation_id, role, staff_user_id, actor, explanation),
    ).fetchone()
    assert row is not None
    return int(row[0])
