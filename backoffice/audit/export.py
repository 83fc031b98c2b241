"""One client's full audit trail as a file: JSON lines, one record a line, oldest first, with
the chain columns (sequence, previous hash, hash), so a reader can check the records are the
warehouse's own by recomputing the chain (see ``audit_log_digest`` in migration 0006)."""

from __future__ import annotations

import dataclasses
import json
from typing import IO, Any

import psycopg

from backoffice.audit.query import iter_client_trail
from backoffice.errors import not_found


def export_client(conn: psycopg.Connection[Any], client_id: int, out: IO[str]) -> int:
    """Write the client's trail to ``out``; how many records were written."""
    if conn.execute("SELECT 1 FROM clients WHERE id = %s", (client_id,)).fetchone() is None:
        raise not_found("client", client_id)
    count = 0
    for entry in iter_client_trail(conn, client_id):
        line = dataclasses.asdict(entry)
        line["occurred_at"] = entry.occurred_at.isoformat()
        out.write(json.dumps(line, sort_keys=True, default=str) + "\n")
        count += 1
    return count
