"""Approvals lapse: when a document an approval rests on expires, or its periodic review date
passes, the client goes back to review and loses that level until it is approved again (the
worker's ``kyc-reviews`` job).

A lapsed approval stays approved as history (``lapsed_at``, ``lapse_reason``); the client's
level drops below the lapsed level, and a new application for it opens — waiting in the
officers' queue with the documents still valid when only the review date passed, or waiting
for the client's new documents when one expired. Each lapse is audited and on the timeline.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import psycopg

from backoffice.audit import Actor, record
from backoffice.kyc import applications
from backoffice.kyc.errors import NotFound
from backoffice.worker import Job, JobContext

ACTOR = Actor.system("kyc")
BATCH = 100


def set_document_expiry(
    conn: psycopg.Connection[Any],
    actor: Actor,
    document_id: int,
    brand_ids: Collection[int],
    expires_on: date | None,
) -> None:
    """Record (or clear) the date a document stops being valid."""
    row = conn.execute(
        """SELECT d.expires_on FROM kyc_documents d
           JOIN kyc_applications a ON a.id = d.application_id
           JOIN clients c ON c.id = a.client_id
           WHERE d.id = %s AND c.brand_id = ANY(%s) FOR UPDATE OF d""",
        (document_id, list(brand_ids)),
    ).fetchone()
    if row is None:
        raise NotFound(f"document {document_id} not found")
    conn.execute(
        "UPDATE kyc_documents SET expires_on = %s WHERE id = %s", (expires_on, document_id)
    )
    record(conn, actor, "kyc.document.expiry", "kyc_document", document_id,
           {"expires_on": row[0]}, {"expires_on": expires_on})  # fmt: skip


def lapse_due(conn: psycopg.Connection[Any], today: date | None = None) -> int:
    """Lapse up to :data:`BATCH` approvals whose documents expired or review is due; how many."""
    day = today or conn.execute("SELECT current_date").fetchone()[0]  # type: ignore[index]
    due = conn.execute(
        """SELECT a.id,
                  CASE WHEN EXISTS (SELECT 1 FROM kyc_documents d
                                    WHERE d.application_id = a.id AND d.status <> 'rejected'
                                      AND d.expires_on <= %(day)s)
                       THEN 'document_expired' ELSE 'review_due' END
           FROM kyc_applications a JOIN clients c ON c.id = a.client_id
           WHERE a.status = 'approved' AND a.lapsed_at IS NULL
             AND c.kyc_level >= a.target_level
             AND (a.review_due_on <= %(day)s
                  OR EXISTS (SELECT 1 FROM kyc_documents d
                             WHERE d.application_id = a.id AND d.status <> 'rejected'
                               AND d.expires_on <= %(day)s))
           ORDER BY a.id LIMIT %(limit)s FOR UPDATE OF a SKIP LOCKED""",
        {"day": day, "limit": BATCH},
    ).fetchall()
    for application_id, reason in due:
        _lapse(conn, int(application_id), str(reason), day)
    return len(due)


def _lapse(conn: psycopg.Connection[Any], application_id: int, reason: str, day: date) -> None:
    application = applications.load(conn, "a.id = %s", (application_id,))
    assert application is not None
    conn.execute(
        "UPDATE kyc_applications SET lapsed_at = now(), lapse_reason = %s WHERE id = %s",
        (reason, application_id),
    )
    record(conn, ACTOR, "kyc.application.lapsed", "kyc_application", application_id,
           {"status": "approved", "lapsed": False},
           {"status": "approved", "lapsed": True, "reason": reason})  # fmt: skip
    lowered = min(application.client_level, application.target_level - 1)
    applications.set_level(conn, ACTOR, application.client_id, application.client_level,
                           lowered, reason)  # fmt: skip
    status = "created" if reason == "document_expired" else "in_review"
    renewal = conn.execute(
        """INSERT INTO kyc_applications (client_id, provider, target_level, status)
           VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id""",
        (application.client_id, application.provider, application.target_level, status),
    ).fetchone()
    if renewal is not None and reason == "review_due":
        # the officers review again what is still valid
        conn.execute(
            """INSERT INTO kyc_documents (application_id, kind, country, storage_ref, sha256,
                                          status, side, filename, content_type, size_bytes,
                                          provider_document_id, expires_on)
               SELECT %s, kind, country, storage_ref, sha256, 'uploaded', side, filename,
                      content_type, size_bytes, provider_document_id, expires_on
               FROM kyc_documents
               WHERE application_id = %s AND status <> 'rejected'
                 AND (expires_on IS NULL OR expires_on > %s)""",
            (renewal[0], application_id, day),
        )
    applications.timeline(conn, application.client_id, "kyc.review_lapsed", ACTOR,
                          {"application_id": application_id, "reason": reason,
                           "level": lowered,
                           "renewal_id": None if renewal is None else renewal[0]})  # fmt: skip


def run(ctx: JobContext) -> int:
    with ctx.connection() as conn:
        return lapse_due(conn)


LAPSES_JOB = Job("kyc-reviews", 3600.0, run)
