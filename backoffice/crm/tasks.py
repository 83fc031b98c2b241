"""Tasks: a follow-up about a client or a lead, with an owner and a due time, created by a
staff member or by an automation rule, then done or cancelled."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row

from backoffice import audit
from backoffice.audit import Actor
from backoffice.crm.errors import NotFound, Refused
from backoffice.crm.events import Subject, resolve_subject, staff_id
from backoffice.staff.access import works_for

TaskStatus = Literal["open", "done", "cancelled"]


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    brand_id: int
    client_id: int | None
    lead_id: int | None
    owner_staff_user_id: int
    subject: str
    due_at: datetime
    status: str
    created_by_staff_user_id: int | None
    created_by_rule_id: int | None
    created_at: datetime
    closed_at: datetime | None


_COLUMNS = ", ".join(Task.__dataclass_fields__)


def insert_task(
    conn: psycopg.Connection[Any],
    actor: Actor,
    subject: Subject,
    owner_staff_user_id: int,
    text: str,
    due_at: datetime,
    rule_id: int | None = None,
) -> int:
    """A new open task (audited); by the actor's staff member, or else by ``rule_id``."""
    row = conn.execute(
        """INSERT INTO crm_tasks (brand_id, client_id, lead_id, owner_staff_user_id, subject,
                                  due_at, created_by_staff_user_id, created_by_rule_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            subject.brand_id,
            subject.client_id,
            subject.lead_id,
            owner_staff_user_id,
            text,
            due_at,
            staff_id(actor),
            rule_id,
        ),
    ).fetchone()
    assert row is not None
    task_id = int(row[0])
    audit.record(
        conn,
        actor,
        "task.create",
        "crm_task",
        task_id,
        None,
        {
            "client_id": subject.client_id,
            "lead_id": subject.lead_id,
            "owner_staff_user_id": owner_staff_user_id,
            "subject": text,
            "due_at": due_at,
            "rule_id": rule_id,
        },
    )
    return task_id


def create_task(
    conn: psycopg.Connection[Any],
    actor: Actor,
    owner_staff_user_id: int,
    text: str,
    due_at: datetime,
    *,
    brand_ids: Collection[int],
    client_id: int | None = None,
    lead_id: int | None = None,
) -> int:
    """A staff member's task about a client or lead of their brands, for a staff member of
    that brand."""
    subject = resolve_subject(conn, brand_ids, client_id, lead_id)
    if not works_for(conn, owner_staff_user_id, subject.brand_id):
        raise NotFound("staff user", owner_staff_user_id)
    text = text.strip()
    if not 1 <= len(text) <= 500:
        raise Refused("invalid_subject", "a task's subject has 1 to 500 characters")
    return insert_task(conn, actor, subject, owner_staff_user_id, text, due_at)


def close_task(
    conn: psycopg.Connection[Any],
    actor: Actor,
    task_id: int,
    status: Literal["done", "cancelled"],
    *,
    brand_ids: Collection[int],
) -> None:
    """Mark an open task done or cancelled (closing it again the same way changes nothing)."""
    row = conn.execute(
        "SELECT status FROM crm_tasks WHERE id = %s AND brand_id = ANY(%s) FOR UPDATE",
        (task_id, list(brand_ids)),
    ).fetchone()
    if row is None:
        raise NotFound("task", task_id)
    if row[0] == status:
        return
    if row[0] != "open":
        raise Refused("task_closed", f"task {task_id} is already {row[0]}")
    conn.execute(
        "UPDATE crm_tasks SET status = %s, closed_at = now() WHERE id = %s", (status, task_id)
    )
    audit.record(
        conn, actor, "task.close", "crm_task", task_id, {"status": "open"}, {"status": status}
    )


def list_tasks(
    conn: psycopg.Connection[Any],
    *,
    brand_ids: Collection[int],
    owner_staff_user_id: int | None = None,
    status: TaskStatus | None = "open",
    client_id: int | None = None,
    lead_id: int | None = None,
    limit: int = 100,
) -> list[Task]:
    """Tasks of the caller's brands, soonest due first."""
    with conn.cursor(row_factory=class_row(Task)) as cur:
        return cur.execute(
            f"""SELECT {_COLUMNS} FROM crm_tasks
                WHERE brand_id = ANY(%(brands)s)
                  AND (%(owner)s::bigint IS NULL OR owner_staff_user_id = %(owner)s)
                  AND (%(status)s::text IS NULL OR status = %(status)s)
                  AND (%(client)s::bigint IS NULL OR client_id = %(client)s)
                  AND (%(lead)s::bigint IS NULL OR lead_id = %(lead)s)
                ORDER BY due_at, id LIMIT %(limit)s""",
            {
                "brands": list(brand_ids),
                "owner": owner_staff_user_id,
                "status": status,
                "client": client_id,
                "lead": lead_id,
                "limit": limit,
            },
        ).fetchall()
