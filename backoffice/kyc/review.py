"""The KYC officers' review queue: applications waiting, and the decisions on them — approve,
reject with a reason (for good, or asking the client to try again), request documents.

Every function takes the officer's brand scope: an application of another brand is not found.
Where the application's level asks for a second approver, an officer's decision stays pending
until a different officer makes the same decision (which applies it); a different decision
by another officer overrules the pending one and waits for confirmation in its turn.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from backoffice.audit import Actor, record
from backoffice.kyc import applications, levels, states
from backoffice.kyc.errors import DecisionRefused, NotFound


@dataclass(frozen=True, slots=True)
class QueueItem:
    application_id: int
    client_id: int
    brand_id: int
    client_name: str
    email: str
    country: str
    status: str
    target_level: int
    documents: int
    waiting_since: datetime
    pending_decision: str | None  # a decision waiting for a second officer
    pending_decided_by: int | None


@dataclass(frozen=True, slots=True)
class Decided:
    application_id: int
    decision_id: int
    status: str  # the application's status after the decision
    pending: bool  # True: waiting for a second officer


def waiting_applications(
    conn: psycopg.Connection[Any], brand_ids: Collection[int], limit: int = 100
) -> list[QueueItem]:
    """Applications waiting for a review or a second officer, oldest first."""
    with conn.cursor(row_factory=class_row(QueueItem)) as cur:
        return cur.execute(
            """SELECT a.id AS application_id, a.client_id, c.brand_id,
                      c.first_name || ' ' || c.last_name AS client_name, c.email, c.country,
                      a.status, a.target_level,
                      (SELECT count(*) FROM kyc_documents d
                       WHERE d.application_id = a.id)::int AS documents,
                      a.updated_at AS waiting_since,
                      p.decision AS pending_decision, p.decided_by AS pending_decided_by
               FROM kyc_applications a JOIN clients c ON c.id = a.client_id
               LEFT JOIN kyc_decisions p ON p.application_id = a.id AND p.status = 'pending'
               WHERE c.brand_id = ANY(%s)
                 AND (a.status = ANY(%s) OR (p.id IS NOT NULL AND a.status = ANY(%s)))
               ORDER BY a.updated_at, a.id LIMIT %s""",
            (list(brand_ids), list(states.WAITING), list(states.OPEN), limit),
        ).fetchall()


def approve(
    conn: psycopg.Connection[Any],
    actor: Actor,
    application_id: int,
    brand_ids: Collection[int],
    reason: str | None = None,
) -> Decided:
    return _decide(conn, actor, application_id, brand_ids, "approve", reason, [], False)


def reject(
    conn: psycopg.Connection[Any],
    actor: Actor,
    application_id: int,
    brand_ids: Collection[int],
    reason: str,
    final: bool = True,
) -> Decided:
    """Reject for good (``final``), or ask the client to submit again."""
    return _decide(conn, actor, application_id, brand_ids, "reject", reason, [], final)


def request_documents(
    conn: psycopg.Connection[Any],
    actor: Actor,
    application_id: int,
    brand_ids: Collection[int],
    documents: list[str],
    reason: str,
) -> Decided:
    """Ask the client for more documents (requirements or kinds, e.g. ``proof_of_address``)."""
    known = set(levels.REQUIREMENTS) | {k for ks in levels.REQUIREMENTS.values() for k in ks}
    if not documents or not set(documents) <= known:
        raise DecisionRefused("name the documents needed", allowed=sorted(known))
    return _decide(conn, actor, application_id, brand_ids, "request_documents", reason,
                   documents, False)  # fmt: skip


def _decide(
    conn: psycopg.Connection[Any],
    actor: Actor,
    application_id: int,
    brand_ids: Collection[int],
    decision: states.Decision,
    reason: str | None,
    documents: list[str],
    final: bool,
) -> Decided:
    if actor.type != "staff":
        raise DecisionRefused("only a KYC officer decides an application")
    if decision != "approve" and not (reason or "").strip():
        raise DecisionRefused("give the reason", field="reason")
    application = applications.load(
        conn, "a.id = %s AND c.brand_id = ANY(%s)", (application_id, list(brand_ids))
    )
    if application is None:
        raise NotFound(f"application {application_id} not found")
    status = states.staff_decision(application.status, decision, final)
    officer = int(actor.id)
    level = levels.level_of(conn, application.brand_id, application.target_level)
    pending = conn.execute(
        """SELECT id, decision, final, decided_by FROM kyc_decisions
           WHERE application_id = %s AND status = 'pending' FOR UPDATE""",
        (application.id,),
    ).fetchone()
    confirms = pending is not None and (pending[1], pending[2]) == (decision, final)
    if pending is not None and pending[3] == officer:
        raise DecisionRefused("a second officer must confirm this decision",
                              pending_decision=pending[1])  # fmt: skip
    if level.second_approver and not confirms:
        if pending is not None:
            conn.execute("UPDATE kyc_decisions SET status = 'overruled' WHERE id = %s",
                         (pending[0],))  # fmt: skip
        decision_id = _insert_decision(conn, application.id, decision, reason, documents, final,
                                       officer, "pending")  # fmt: skip
        record(conn, actor, "kyc.decision.proposed", "kyc_application", application.id,
               {"status": application.status},
               {"decision": decision, "final": final, "reason": reason, "documents": documents,
                "overruled": None if pending is None else pending[0]})  # fmt: skip
        return Decided(application.id, decision_id, application.status, True)
    if confirms:
        assert pending is not None
        decision_id = int(pending[0])
        conn.execute(
            """UPDATE kyc_decisions SET status = 'applied', confirmed_by = %s,
                      confirmed_at = now() WHERE id = %s""",
            (officer, decision_id),
        )
    else:
        decision_id = _insert_decision(conn, application.id, decision, reason, documents, final,
                                       officer, "applied")  # fmt: skip
    labels = documents if decision == "request_documents" else None
    applications.move(conn, actor, application, status, datetime.now(UTC), labels, reason)
    return Decided(application.id, decision_id, status, False)


def _insert_decision(
    conn: psycopg.Connection[Any],
    application_id: int,
    decision: str,
    reason: str | None,
    documents: list[str],
    final: bool,
    officer: int,
    status: str,
) -> int:
    row = conn.execute(
        """INSERT INTO kyc_decisions (application_id, decision, reason, documents, final,
                                      decided_by, status)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (application_id, decision, reason, documents, final, officer, status),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True, slots=True)
class ReviewDocument:
    id: int
    kind: str
    side: str | None
    country: str | None
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: str
    expires_on: date | None
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: int
    decision: str
    reason: str | None
    documents: list[str]
    final: bool
    decided_by: int
    decided_at: datetime
    status: str
    confirmed_by: int | None
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApplicationDetail:
    application_id: int
    client_id: int
    brand_id: int
    client_name: str
    email: str
    country: str
    client_level: int
    target_level: int
    status: str
    reject_labels: list[str]
    decision_reason: str | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    documents: list[ReviewDocument]
    decisions: list[DecisionRecord]  # oldest first; a pending one waits for a second officer


def application_detail(
    conn: psycopg.Connection[Any], brand_ids: Collection[int], application_id: int
) -> ApplicationDetail:
    """One application of the officer's brands with its documents and staff decisions."""
    row = conn.execute(
        """SELECT a.id, a.client_id, c.brand_id, c.first_name || ' ' || c.last_name, c.email,
                  c.country, c.kyc_level, a.target_level, a.status, a.reject_labels,
                  a.decision_reason, a.created_at, a.updated_at, a.decided_at
           FROM kyc_applications a JOIN clients c ON c.id = a.client_id
           WHERE a.id = %s AND c.brand_id = ANY(%s)""",
        (application_id, list(brand_ids)),
    ).fetchone()
    if row is None:
        raise NotFound(f"application {application_id} not found")
    with conn.cursor(row_factory=class_row(ReviewDocument)) as cur:
        documents = cur.execute(
            """SELECT id, kind, side, country, filename, content_type, size_bytes,
                      encode(sha256, 'hex') AS sha256, status, expires_on, uploaded_at
               FROM kyc_documents WHERE application_id = %s ORDER BY id""",
            (application_id,),
        ).fetchall()
    with conn.cursor(row_factory=class_row(DecisionRecord)) as cur:
        decisions = cur.execute(
            """SELECT id, decision, reason, documents, final, decided_by, decided_at, status,
                      confirmed_by, confirmed_at
               FROM kyc_decisions WHERE application_id = %s ORDER BY decided_at, id""",
            (application_id,),
        ).fetchall()
    names = [
        f for f in ApplicationDetail.__dataclass_fields__ if f not in ("documents", "decisions")
    ]
    fields = dict(zip(names, row, strict=True))
    return ApplicationDetail(**{**fields, "reject_labels": list(fields["reject_labels"])},
                             documents=documents, decisions=decisions)  # fmt: skip
