"""A client's KYC application: opening it, and moving its status with everything that goes
with a move — the audit record, the client's timeline, and on approval the client's level.

Both the provider's webhooks (:mod:`backoffice.kyc.processing`) and staff decisions
(:mod:`backoffice.kyc.review`) move statuses through :func:`move`, so an approval raises
``clients.kyc_level`` in the same transaction whoever decided it (the execution service learns
of it from there). A level only rises here; lowering it is a lapse (:mod:`backoffice.kyc.lapses`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from backoffice.audit import Actor, record
from backoffice.kyc import levels, states
from backoffice.kyc.errors import DecisionRefused, NotFound

_COLUMNS = """a.id, a.client_id, c.brand_id, a.provider, a.provider_applicant_id,
              a.target_level, a.status, a.state_changed_at, c.kyc_level AS client_level"""


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    client_id: int
    brand_id: int
    provider: str
    provider_applicant_id: str | None
    target_level: int
    status: states.Status
    state_changed_at: datetime | None
    client_level: int


def load(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> Application | None:
    """One application, locked for the caller's transaction (``where`` over ``a`` and ``c``)."""
    with conn.cursor(row_factory=class_row(Application)) as cur:
        return cur.execute(
            f"""SELECT {_COLUMNS} FROM kyc_applications a JOIN clients c ON c.id = a.client_id
                WHERE {where} ORDER BY a.id DESC LIMIT 1 FOR UPDATE OF a""",
            params,
        ).fetchone()


def open_application(
    conn: psycopg.Connection[Any], client_id: int, provider: str = "sumsub"
) -> Application:
    """The client's open application, or a new one for the level above the client's (none
    after a final rejection)."""
    found = load(conn, "a.client_id = %s AND a.status = ANY(%s)", (client_id, list(states.OPEN)))
    if found is not None:
        return found
    if load(conn, "a.client_id = %s AND a.status = 'rejected'", (client_id,)) is not None:
        raise DecisionRefused(f"client {client_id} was rejected for good")
    standing = levels.client_standing(conn, client_id)
    if standing.next_level is None:
        raise NotFound(f"client {client_id} is at the brand's highest KYC level")
    conn.execute(
        """INSERT INTO kyc_applications (client_id, provider, target_level)
           VALUES (%s, %s, %s) ON CONFLICT DO NOTHING""",
        (client_id, provider, standing.next_level.level),
    )
    opened = load(conn, "a.client_id = %s AND a.status = ANY(%s)", (client_id, list(states.OPEN)))
    assert opened is not None
    return opened


def move(
    conn: psycopg.Connection[Any],
    actor: Actor,
    application: Application,
    status: states.Status,
    at: datetime | None,
    labels: list[str] | None = None,
    reason: str | None = None,
) -> None:
    """Set the application's status. ``at`` is when the decision was made (the provider's time
    of its event, or now for staff); an event older than it never undoes it. None (the
    client's own submission) keeps the last decision's time."""
    answer, reject_type = states.review_columns(status)
    decided = status in (*states.FINAL, "resubmission_requested")
    review_due = _review_due(conn, application) if status == "approved" else None
    conn.execute(
        """UPDATE kyc_applications
           SET status = %s, review_answer = %s, reject_type = %s,
               reject_labels = coalesce(%s, reject_labels),
               decision_reason = coalesce(%s, decision_reason),
               state_changed_at = coalesce(%s, state_changed_at), review_due_on = %s,
               decided_at = CASE WHEN %s THEN now() ELSE decided_at END, updated_at = now()
           WHERE id = %s""",
        (status, answer, reject_type, labels, reason, at, review_due, decided, application.id),
    )
    after = {"status": status, "review_answer": answer, "reject_type": reject_type,
             "reject_labels": labels or [], "reason": reason,
             "review_due_on": review_due}  # fmt: skip
    record(conn, actor, f"kyc.application.{status}", "kyc_application", application.id,
           {"status": application.status}, after)  # fmt: skip
    timeline(conn, application.client_id, f"kyc.{status}", actor,
             {"application_id": application.id, "target_level": application.target_level,
              "reject_labels": labels or [], "reason": reason})  # fmt: skip
    if status == "approved" and application.client_level < application.target_level:
        set_level(conn, actor, application.client_id, application.client_level,
                  application.target_level, "approved")  # fmt: skip


def set_level(
    conn: psycopg.Connection[Any], actor: Actor, client_id: int, before: int, after: int, why: str
) -> None:
    """Change the client's KYC level (audited, on the timeline)."""
    conn.execute(
        "UPDATE clients SET kyc_level = %s, updated_at = now() WHERE id = %s", (after, client_id)
    )
    record(conn, actor, "kyc.level", "client", client_id, {"kyc_level": before},
           {"kyc_level": after, "reason": why})  # fmt: skip
    timeline(conn, client_id, "kyc.level_changed", actor,
             {"from": before, "to": after, "reason": why})  # fmt: skip


def timeline(
    conn: psycopg.Connection[Any],
    client_id: int,
    event_type: str,
    actor: Actor,
    payload: dict[str, Any],
) -> None:
    staff = int(actor.id) if actor.type == "staff" else None
    conn.execute(
        """INSERT INTO crm_events (occurred_at, client_id, staff_user_id, event_type, channel,
                                   payload)
           VALUES (now(), %s, %s, %s, 'system', %s)""",
        (client_id, staff, event_type, Jsonb(payload)),
    )


def _review_due(conn: psycopg.Connection[Any], application: Application) -> date | None:
    level = levels.level_of(conn, application.brand_id, application.target_level)
    if level.review_months is None:
        return None
    today: date = conn.execute("SELECT current_date").fetchone()[0]  # type: ignore[index]
    return levels.months_after(today, level.review_months)
