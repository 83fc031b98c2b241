"""Each state a payment reaches, as an append-only ``payment_events`` row (with the inbox event
that moved it): what the client's history shows and the pipelines read."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def payment_event(
    conn: psycopg.Connection[Any],
    payment_id: int,
    status: str,
    detail: dict[str, Any],
    inbox_id: int | None = None,
) -> None:
    conn.execute(
        "INSERT INTO payment_events (payment_id, status, inbox_id, detail) VALUES (%s, %s, %s, %s)",
        (payment_id, status, inbox_id, Jsonb(detail)),
    )
