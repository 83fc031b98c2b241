"""Writing the audit trail: every state change staff, clients or the system make to a client,
an account, KYC, a payment or configuration, with who, what, before and after.

Rows go to ``audit_log``, whose trigger chains each record to the previous one's hash (see
migration 0006); nothing can update or delete them. Write the record in the same transaction as
the change it describes, so one never exists without the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

ActorType = Literal["staff", "client", "ib", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a staff member, a client, an IB partner, or a named system process."""

    type: ActorType
    id: str

    @classmethod
    def staff(cls, staff_user_id: int) -> Actor:
        return cls("staff", str(staff_user_id))

    @classmethod
    def client(cls, client_id: int) -> Actor:
        return cls("client", str(client_id))

    @classmethod
    def system(cls, process: str) -> Actor:
        return cls("system", process)


def record(
    conn: psycopg.Connection[Any],
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> int:
    """Append one audit record (in the caller's transaction); its chain sequence number."""
    row = conn.execute(
        """INSERT INTO audit_log (actor_type, actor_id, action, entity_type, entity_id,
                                  before, after)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING chain_seq""",
        (
            actor.type,
            actor.id,
            action,
            entity_type,
            str(entity_id),
            None if before is None else Jsonb(before, dumps=_dumps),
            None if after is None else Jsonb(after, dumps=_dumps),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _dumps(value: Any) -> str:
    # dates, decimals and the like as their text: the record keeps what the change showed
    return json.dumps(value, default=str, sort_keys=True)
