"""The reconciliation exception queue: what the matching found, listed for finance in their
brands (an exception no payment of ours names, ``missing_here``, is every brand's), resolved
once with a reason (audited; a resolution is never changed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from backoffice.audit import Actor, record
from backoffice.errors import Refused, not_found
from backoffice.scope import BrandScope

KINDS = ("missing_at_psp", "missing_here", "amount_differs", "currency_differs",
         "status_differs")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReconException:
    id: int
    kind: str
    provider: str
    file_id: int
    brand_id: int | None
    payment_id: int | None
    source_id: str | None
    ours: dict[str, Any]
    theirs: dict[str, Any]
    status: str
    resolution: str | None
    resolved_by: int | None
    resolved_at: datetime | None
    created_at: datetime


_SELECT = """SELECT id, kind, provider, file_id, brand_id, payment_id, source_id, ours, theirs,
                    status, resolution, resolved_by, resolved_at, created_at
             FROM recon_exceptions"""
_IN_SCOPE = "(%(b)s::bigint[] IS NULL OR brand_id IS NULL OR brand_id = ANY(%(b)s))"


def queue(
    conn: psycopg.Connection[Any],
    brands: BrandScope,
    status: str | None = "open",
    kind: str | None = None,
    provider: str | None = None,
    limit: int = 500,
) -> list[ReconException]:
    """Oldest first."""
    with conn.cursor(row_factory=class_row(ReconException)) as cur:
        return cur.execute(
            f"""{_SELECT} WHERE {_IN_SCOPE}
                  AND (%(s)s::text IS NULL OR status = %(s)s)
                  AND (%(k)s::text IS NULL OR kind = %(k)s)
                  AND (%(p)s::text IS NULL OR provider = %(p)s)
                ORDER BY created_at, id LIMIT %(n)s""",
            {"b": brands.param, "s": status, "k": kind, "p": provider, "n": limit},
        ).fetchall()


def resolve(
    conn: psycopg.Connection[Any], actor: Actor, brands: BrandScope, exception_id: int,
    reason: str,
) -> ReconException:  # fmt: skip
    """Close an open exception with the staff member's reason (committed)."""
    reason = reason.strip()
    if not reason:
        raise Refused("invalid", "reason_required", "say why the exception is resolved",
                      {"source": "backoffice", "field": "reason"})  # fmt: skip
    with conn.cursor(row_factory=class_row(ReconException)) as cur:
        found = cur.execute(f"{_SELECT} WHERE id = %(id)s AND {_IN_SCOPE} FOR UPDATE",
                            {"id": exception_id, "b": brands.param}).fetchone()  # fmt: skip
    if found is None:
        raise not_found("exception", exception_id)
    if found.status != "open":
        raise Refused("conflict", "already_resolved", "the exception was resolved already",
                      {"source": "backoffice", "resolved_by": found.resolved_by,
                       "resolution": found.resolution})  # fmt: skip
    conn.execute(
        """UPDATE recon_exceptions SET status = 'resolved', resolution = %s, resolved_by = %s,
                  resolved_at = now() WHERE id = %s""",
        (reason, int(actor.id), exception_id),
    )
    record(
        conn,
        actor,
        "reconciliation.exception_resolved",
        "recon_exception",
        exception_id,
        {"status": "open", "kind": found.kind},
        {"status": "resolved", "reason": reason},
    )
    conn.commit()
    with conn.cursor(row_factory=class_row(ReconException)) as cur:
        done = cur.execute(f"{_SELECT} WHERE id = %(id)s", {"id": exception_id}).fetchone()
    assert done is not None
    return done
