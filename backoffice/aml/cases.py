"""The compliance case queue: sanctions and PEP matches from screening, and the pipelines'
monitoring alerts, worked by compliance staff (assign, notes, decide), all audited and on the
client's timeline.

A sanctions hit suspends the client when its case opens (the execution service disables a
suspended client's accounts at its next refresh); clearing that case lifts the suspension
when no other blocking case of the client is undecided or reported. Staff see only the cases of
clients of their brands; a case of another brand is "not found".
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from backoffice.aml.case_states import (
    CaseStatus,
    Decision,
    accepts_notes,
    after_assignment,
    after_decision,
)
from backoffice.aml.errors import AmlError
from backoffice.audit import Actor, record
from backoffice.staff.access import works_for

CaseKind = Literal["sanctions_hit", "pep", "monitoring_alert", "chargeback"]
_SYSTEM = Actor.system("aml")


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: int
    client_id: int
    brand_id: int
    client_name: str
    kind: CaseKind
    status: CaseStatus
    owner_staff_user_id: int | None
    screening_match_id: int | None
    aml_alert_id: int | None
    subject_key: str | None
    client_blocked: bool
    decision: Decision | None
    decision_reason: str | None
    opened_at: datetime
    updated_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class CaseNote:
    id: int
    staff_user_id: int | None
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CaseDetail:
    case: CaseSummary
    notes: list[CaseNote]
    source: dict[str, Any]  # the match (entry, score, factors) or the alert (rule, details)


_SELECT = """SELECT k.id, k.client_id, c.brand_id, c.first_name || ' ' || c.last_name AS
                    client_name, k.kind, k.status, k.owner_staff_user_id,
                    k.screening_match_id, k.aml_alert_id, k.subject_key, k.client_blocked,
                    k.decision, k.decision_reason, k.opened_at, k.updated_at, k.decided_at
             FROM aml_cases k JOIN clients c ON c.id = k.client_id"""


def list_cases(
    conn: psycopg.Connection[Any],
    brand_ids: Collection[int],
    *,
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
    owner_staff_user_id: int | None = None,
    client_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CaseSummary]:
    """The queue, oldest first, of the staff member's brands, optionally filtered."""
    with conn.cursor(row_factory=class_row(CaseSummary)) as cur:
        return cur.execute(
            _SELECT
            + """ WHERE c.brand_id = ANY(%(brands)s)
                  AND (%(status)s::text IS NULL OR k.status = %(status)s)
                  AND (%(kind)s::text IS NULL OR k.kind = %(kind)s)
                  AND (%(owner)s::bigint IS NULL OR k.owner_staff_user_id = %(owner)s)
                  AND (%(client)s::bigint IS NULL OR k.client_id = %(client)s)
                ORDER BY k.opened_at, k.id LIMIT %(limit)s OFFSET %(offset)s""",
            {
                "brands": list(brand_ids),
                "status": status,
                "kind": kind,
                "owner": owner_staff_user_id,
                "client": client_id,
                "limit": limit,
                "offset": offset,
            },
        ).fetchall()


def get_case(conn: psycopg.Connection[Any], brand_ids: Collection[int], case_id: int) -> CaseDetail:
    """One case with its notes and what raised it."""
    case = _case(conn, brand_ids, case_id)
    with conn.cursor(row_factory=class_row(CaseNote)) as cur:
        notes = cur.execute(
            "SELECT id, staff_user_id, body, created_at FROM aml_case_notes"
            " WHERE case_id = %s ORDER BY created_at, id",
            (case_id,),
        ).fetchall()
    return CaseDetail(case, notes, _source(conn, case))


def assign(
    conn: psycopg.Connection[Any],
    actor: Actor,
    brand_ids: Collection[int],
    case_id: int,
    staff_user_id: int,
) -> CaseSummary:
    """Give the case an owner; an open case goes under review."""
    case = _case(conn, brand_ids, case_id, lock=True)
    status = after_assignment(case.status)
    if not works_for(conn, staff_user_id, case.brand_id):
        message = f"no enabled staff user {staff_user_id} works for the case's brand"
        raise AmlError("unknown_staff_user", message)
    conn.execute(
        "UPDATE aml_cases SET owner_staff_user_id = %s, status = %s, updated_at = now()"
        " WHERE id = %s",
        (staff_user_id, status, case_id),
    )
    before = {"owner_staff_user_id": case.owner_staff_user_id, "status": case.status}
    after = {"owner_staff_user_id": staff_user_id, "status": status}
    _changed(conn, actor, case, "aml.case_assigned", before, after)
    return _case(conn, brand_ids, case_id)


def add_note(
    conn: psycopg.Connection[Any],
    actor: Actor,
    brand_ids: Collection[int],
    case_id: int,
    body: str,
) -> CaseNote:
    """A note on an undecided case."""
    case = _case(conn, brand_ids, case_id, lock=True)
    if not body.strip():
        raise AmlError("empty_note", "a note needs text")
    if not accepts_notes(case.status):
        raise AmlError("case_closed", f"a {case.status} case takes no more notes")
    with conn.cursor(row_factory=class_row(CaseNote)) as cur:
        note = cur.execute(
            """INSERT INTO aml_case_notes (case_id, staff_user_id, body) VALUES (%s, %s, %s)
               RETURNING id, staff_user_id, body, created_at""",
            (case_id, _staff_id(actor), body.strip()),
        ).fetchone()
    assert note is not None
    conn.execute("UPDATE aml_cases SET updated_at = now() WHERE id = %s", (case_id,))
    _changed(conn, actor, case, "aml.case_note", None, {"note_id": note.id, "body": note.body})
    return note


def decide(
    conn: psycopg.Connection[Any],
    actor: Actor,
    brand_ids: Collection[int],
    case_id: int,
    decision: Decision,
    reason: str,
) -> CaseSummary:
    """Clear, escalate or report a case, with the reason. Clearing a case that blocked the
    client lifts the block unless another blocking case is undecided or reported; a
    decided monitoring alert closes."""
    case = _case(conn, brand_ids, case_id, lock=True)
    if not reason.strip():
        raise AmlError("reason_required", "a decision needs a reason")
    status = after_decision(case.status, decision)
    final = status in ("cleared", "reported")
    conn.execute(
        """UPDATE aml_cases SET status = %s, decision = %s, decision_reason = %s,
                  updated_at = now(), decided_at = CASE WHEN %s THEN now() END
           WHERE id = %s""",
        (status, decision, reason.strip(), final, case_id),
    )
    before = {"status": case.status, "decision": case.decision}
    after = {"status": status, "decision": decision, "reason": reason.strip()}
    _changed(conn, actor, case, "aml.case_decided", before, after)
    if case.aml_alert_id is not None and final:
        conn.execute("UPDATE aml_alerts SET status = 'closed' WHERE id = %s", (case.aml_alert_id,))
    if status == "cleared" and case.client_blocked:
        _unblock(conn, actor, case)
    return _case(conn, brand_ids, case_id)


def open_screening_case(
    conn: psycopg.Connection[Any],
    client_id: int,
    match_id: int | None,
    kind: CaseKind,
    subject_key: str,
    *,
    block: bool,
    reason: str = "sanctions_hit",
) -> int | None:
    """The case for a screening match (or, without one, another subject: a disputed payment),
    once per client and subject (a subject already cased — even cleared — opens nothing); with
    ``block`` the client is suspended, for ``reason``."""
    row = conn.execute(
        """INSERT INTO aml_cases (client_id, kind, screening_match_id, subject_key)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (client_id, subject_key) WHERE subject_key IS NOT NULL DO NOTHING
           RETURNING id""",
        (client_id, kind, match_id, subject_key),
    ).fetchone()
    if row is None:
        return None
    case_id = int(row[0])
    after = {
        "kind": kind,
        "status": "open",
        "screening_match_id": match_id,
        "subject_key": subject_key,
    }
    record(conn, _SYSTEM, "aml.case_opened", "aml_case", case_id, None, after)
    _timeline(conn, _SYSTEM, client_id, "aml.case_opened", {"case_id": case_id, **after})
    if block:
        _block(conn, client_id, case_id, reason)
    return case_id


def open_chargeback_case(
    conn: psycopg.Connection[Any], client_id: int, payment_id: int
) -> int | None:
    """A PSP took a deposit back: a case for compliance, the client suspended until decided."""
    return open_screening_case(conn, client_id, None, "chargeback", f"chargeback:{payment_id}",
                               block=True, reason="chargeback")  # fmt: skip


def open_alert_cases(conn: psycopg.Connection[Any], limit: int = 500) -> int:
    """A case for each open monitoring alert not yet in one (the alert moves to in_case);
    safe to run again or concurrently."""
    alerts = conn.execute(
        """SELECT a.id, a.client_id, a.rule, a.trade_date FROM aml_alerts a
           WHERE a.status = 'open' ORDER BY a.id LIMIT %s FOR UPDATE SKIP LOCKED""",
        (limit,),
    ).fetchall()
    opened = 0
    for alert_id, client_id, rule, trade_date in alerts:
        row = conn.execute(
            """INSERT INTO aml_cases (client_id, kind, aml_alert_id)
               VALUES (%s, 'monitoring_alert', %s)
               ON CONFLICT (aml_alert_id) DO NOTHING RETURNING id""",
            (client_id, alert_id),
        ).fetchone()
        conn.execute("UPDATE aml_alerts SET status = 'in_case' WHERE id = %s", (alert_id,))
        if row is None:
            continue
        after = {
            "kind": "monitoring_alert",
            "status": "open",
            "aml_alert_id": alert_id,
            "rule": rule,
            "trade_date": trade_date,
        }
        record(conn, _SYSTEM, "aml.case_opened", "aml_case", row[0], None, after)
        _timeline(conn, _SYSTEM, client_id, "aml.case_opened", {"case_id": row[0], **after})
        opened += 1
    return opened


def _case(
    conn: psycopg.Connection[Any], brand_ids: Collection[int], case_id: int, *, lock: bool = False
) -> CaseSummary:
    with conn.cursor(row_factory=class_row(CaseSummary)) as cur:
        case = cur.execute(
            _SELECT
            + " WHERE k.id = %s AND c.brand_id = ANY(%s)"
            + (" FOR UPDATE OF k" if lock else ""),
            (case_id, list(brand_ids)),
        ).fetchone()
    if case is None:
        raise AmlError("case_not_found", f"no case {case_id}")
    return case


def _source(conn: psycopg.Connection[Any], case: CaseSummary) -> dict[str, Any]:
    if case.aml_alert_id is not None:
        row = conn.execute(
            "SELECT rule, trade_date, details, status FROM aml_alerts WHERE id = %s",
            (case.aml_alert_id,),
        ).fetchone()
        assert row is not None
        return {
            "alert_id": case.aml_alert_id,
            "rule": row[0],
            "trade_date": row[1],
            "details": row[2],
            "alert_status": row[3],
        }
    row = conn.execute(
        """SELECT m.matched_name, m.name_score, m.score, m.strength, m.factors, e.id,
                  e.external_id, e.primary_name, e.birth_dates, e.countries, e.programs,
                  l.source, l.sha256
           FROM aml_screening_matches m JOIN sanctions_entries e ON e.id = m.entry_id
           JOIN sanctions_lists l ON l.id = e.list_id WHERE m.id = %s""",
        (case.screening_match_id,),
    ).fetchone()
    assert row is not None
    keys = (
        "matched_name",
        "name_score",
        "score",
        "strength",
        "factors",
        "entry_id",
        "external_id",
        "primary_name",
        "birth_dates",
        "countries",
        "programs",
        "source",
        "list_sha256",
    )
    return dict(zip(keys, row, strict=True))


def _staff_id(actor: Actor) -> int | None:
    return int(actor.id) if actor.type == "staff" else None


def _timeline(
    conn: psycopg.Connection[Any], actor: Actor, client_id: int, event: str, payload: dict[str, Any]
) -> None:
    conn.execute(
        """INSERT INTO crm_events (occurred_at, client_id, staff_user_id, event_type, payload)
           VALUES (now(), %s, %s, %s, %s)""",
        (client_id, _staff_id(actor), event, Jsonb(payload, dumps=_dumps)),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _changed(
    conn: psycopg.Connection[Any],
    actor: Actor,
    case: CaseSummary,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    record(conn, actor, action, "aml_case", case.id, before, after)
    _timeline(conn, actor, case.client_id, action, {"case_id": case.id, **after})


def _block(
    conn: psycopg.Connection[Any], client_id: int, case_id: int, reason: str = "sanctions_hit"
) -> None:
    status = conn.execute(
        "SELECT status FROM clients WHERE id = %s FOR UPDATE", (client_id,)
    ).fetchone()
    assert status is not None
    if status[0] == "active":
        conn.execute(
            "UPDATE clients SET status = 'suspended', updated_at = now() WHERE id = %s",
            (client_id,),
        )
        record(
            conn,
            _SYSTEM,
            "client.suspended",
            "client",
            client_id,
            {"status": "active"},
            {"status": "suspended", "reason": reason, "case_id": case_id},
        )
        _timeline(
            conn,
            _SYSTEM,
            client_id,
            "client.suspended",
            {"reason": reason, "case_id": case_id},
        )
    elif not _other_blocking_cases(conn, client_id, case_id):
        return  # suspended or closed for a reason of its own: not this case's to lift
    conn.execute("UPDATE aml_cases SET client_blocked = true WHERE id = %s", (case_id,))


def _other_blocking_cases(conn: psycopg.Connection[Any], client_id: int, case_id: int) -> bool:
    return (
        conn.execute(
            """SELECT 1 FROM aml_cases WHERE client_id = %s AND id <> %s AND client_blocked
           AND status <> 'cleared' LIMIT 1""",
            (client_id, case_id),
        ).fetchone()
        is not None
    )


def _unblock(conn: psycopg.Connection[Any], actor: Actor, case: CaseSummary) -> None:
    if _other_blocking_cases(conn, case.client_id, case.id):
        return
    row = conn.execute(
        "UPDATE clients SET status = 'active', updated_at = now()"
        " WHERE id = %s AND status = 'suspended' RETURNING id",
        (case.client_id,),
    ).fetchone()
    if row is None:
        return
    record(
        conn,
        actor,
        "client.unsuspended",
        "client",
        case.client_id,
        {"status": "suspended"},
        {"status": "active", "reason": "sanctions_hit_cleared", "case_id": case.id},
    )
    _timeline(
        conn,
        actor,
        case.client_id,
        "client.unsuspended",
        {"reason": "sanctions_hit_cleared", "case_id": case.id},
    )
