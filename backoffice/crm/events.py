"""Timeline rows (``crm_events``) the CRM writes, and the subject (client or lead) they and
tasks and notes are about, resolved within the caller's brands."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice.audit import Actor
from backoffice.crm.errors import CrmError, NotFound


def staff_id(actor: Actor) -> int | None:
    """The staff member behind an actor (timeline rows name them), or None."""
    return int(actor.id) if actor.type == "staff" else None


def write_event(
    conn: psycopg.Connection[Any],
    event_type: str,
    *,
    client_id: int | None = None,
    lead_id: int | None = None,
    staff_user_id: int | None = None,
    channel: str = "system",
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> int:
    row = conn.execute(
        """INSERT INTO crm_events (occurred_at, client_id, lead_id, staff_user_id, event_type,
                                   channel, payload)
           VALUES (coalesce(%s, now()), %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            occurred_at,
            client_id,
            lead_id,
            staff_user_id,
            event_type,
            channel,
            Jsonb(payload or {}),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a task or note is about: a client, a lead, or a converted lead and its client."""

    brand_id: int
    client_id: int | None
    lead_id: int | None


def resolve_subject(
    conn: psycopg.Connection[Any],
    brand_ids: Collection[int],
    client_id: int | None,
    lead_id: int | None,
) -> Subject:
    """The subject within ``brand_ids``; a converted lead brings its client along, so what
    is said about it shows on the client's timeline."""
    if client_id is None and lead_id is None:
        raise CrmError("subject_required", "name a client or a lead")
    brands = list(brand_ids)
    if lead_id is not None:
        row = conn.execute(
            "SELECT brand_id, client_id FROM leads WHERE id = %s AND brand_id = ANY(%s)",
            (lead_id, brands),
        ).fetchone()
        if row is None:
            raise NotFound("lead", lead_id)
        if client_id is not None and row[1] != client_id:
            raise CrmError("subject_mismatch", f"lead {lead_id} is not client {client_id}'s")
        return Subject(int(row[0]), row[1], lead_id)
    row = conn.execute(
        "SELECT brand_id FROM clients WHERE id = %s AND brand_id = ANY(%s)", (client_id, brands)
    ).fetchone()
    if row is None:
        raise NotFound("client", client_id)
    return Subject(int(row[0]), client_id, None)
