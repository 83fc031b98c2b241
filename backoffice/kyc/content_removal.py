"""The bytes of purged KYC documents go after their rows: the retention purge deletes rows in
its transaction, and once that has committed each purged document's content is removed from
the store — unless another document still refers to the same bytes (content is kept once by
its SHA-256), which is recorded as ``shared`` and removed when that one is purged.

The worker's hourly ``kyc-content-removal`` job (and ``brokerstack retention purge``, right
after its purge) does it. Each purged document gets one ``kyc_document_content_removals``
row, so a round interrupted between the commit and the store (or refused by an unreachable
bucket) is finished by the next, and nothing is removed twice. An upload of the same bytes
and the removal take turns on the content's lock (:func:`backoffice.kyc.documents.content_lock`).
"""

from __future__ import annotations

from typing import Any

import psycopg

from backoffice.kyc.document_store import document_store
from backoffice.kyc.documents import content_lock
from backoffice.worker import Job, JobContext
from brokerstack.settings import Settings


def remove_purged_content(conn: psycopg.Connection[Any], settings: Settings) -> int:
    """Remove the stored bytes of every purged document not seen to yet (each in its own
    transaction, committed): how many contents were removed from the store."""
    store = document_store(settings)
    pending = conn.execute(
        """SELECT p.id, p.detail->>'sha256' FROM retention_purges p
           WHERE p.kind = 'kyc_documents' AND p.detail ? 'sha256'
             AND NOT EXISTS (SELECT 1 FROM kyc_document_content_removals r
                             WHERE r.purge_id = p.id)
           ORDER BY p.id"""
    ).fetchall()
    conn.commit()
    removed: set[str] = set()
    for purge_id, digest in pending:
        with conn.transaction():
            content_lock(conn, digest)
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM kyc_documents WHERE sha256 = %s)",
                (bytes.fromhex(digest),),
            ).fetchone()
            shared = bool(row and row[0])
            if not shared:
                store.delete(digest)
                removed.add(digest)
            conn.execute(
                """INSERT INTO kyc_document_content_removals (purge_id, sha256, outcome)
                   VALUES (%s, %s, %s) ON CONFLICT (purge_id) DO NOTHING""",
                (purge_id, digest, "shared" if shared else "removed"),
            )
    return len(removed)


def removal_round(context: JobContext) -> int:
    with context.connection() as conn:
        return remove_purged_content(conn, context.settings)


CONTENT_REMOVAL_JOB = Job("kyc-content-removal", 3600.0, removal_round)
