"""Verifying the audit chain: recompute every record's hash from its content and the previous
record's hash (``audit_log_first_broken()``, migration 0006) and name the first that fails —
a row changed, removed or inserted out of order behind the trigger's back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class BrokenRecord:
    chain_seq: int
    id: int
    occurred_at: datetime
    action: str
    entity_type: str
    entity_id: str

    def describe(self) -> str:
        return (
            f"audit record {self.id} (chain #{self.chain_seq}, {self.action} on "
            f"{self.entity_type} {self.entity_id} at {self.occurred_at.isoformat()})"
        )


def verify_chain(conn: psycopg.Connection[Any]) -> BrokenRecord | None:
    """The first record whose hash does not recompute, or None if the chain is intact."""
    row = conn.execute(
        """SELECT a.chain_seq, a.id, a.occurred_at, a.action, a.entity_type, a.entity_id
           FROM audit_log a WHERE a.chain_seq = audit_log_first_broken()
           ORDER BY a.id LIMIT 1"""
    ).fetchone()
    if row is None:
        return None
    return BrokenRecord(int(row[0]), int(row[1]), row[2], str(row[3]), str(row[4]), str(row[5]))


def chain_length(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM audit_log").fetchone()
    return 0 if row is None else int(row[0])
