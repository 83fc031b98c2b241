"""Notes staff write about a client or a lead (calls, conversations): timeline rows on the
``note`` channel with their author, audited."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg

from backoffice import audit
from backoffice.audit import Actor
from backoffice.crm.errors import Refused
from backoffice.crm.events import resolve_subject, staff_id, write_event

MAX_NOTE = 4000


def add_note(
    conn: psycopg.Connection[Any],
    actor: Actor,
    text: str,
    *,
    brand_ids: Collection[int],
    client_id: int | None = None,
    lead_id: int | None = None,
) -> int:
    """The note's timeline row id."""
    text = text.strip()
    if not 1 <= len(text) <= MAX_NOTE or "\x00" in text:
        raise Refused("invalid_note", f"a note has 1 to {MAX_NOTE} characters")
    subject = resolve_subject(conn, brand_ids, client_id, lead_id)
    event_id = write_event(
        conn,
        "note.added",
        client_id=subject.client_id,
        lead_id=subject.lead_id,
        staff_user_id=staff_id(actor),
        channel="note",
        payload={"text": text},
    )
    audit.record(
        conn,
        actor,
        "note.add",
        "crm_event",
        event_id,
        None,
        {"client_id": subject.client_id, "lead_id": subject.lead_id, "text": text},
    )
    return event_id
