"""Leads: captured from the brand's website (deduplicated per brand by e-mail and phone),
assigned, moved through their stages, converted to clients with their history.

A repeat submission of a known visitor attaches to the lead it matches (by e-mail first,
case-insensitively, then by phone in E.164): blanks are filled in, nothing the lead already
has is overwritten (the first touch keeps its campaign and affiliate), and the submission
itself is on the lead's timeline as ``lead.resubmitted``. With an idempotency key, a retried
submission changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from backoffice import audit
from backoffice.audit import Actor
from backoffice.crm import assignment
from backoffice.crm.errors import CrmError, InvalidSiteKey, NotFound, Refused
from backoffice.crm.events import staff_id, write_event
from backoffice.crm.site_keys import brand_for_site_key
from backoffice.crm.stages import Stage, StageRefused, check_move
from backoffice.crm.submission import LeadSubmission
from backoffice.staff.access import works_for

CAPTURE = Actor.system("lead-capture")
REGISTRATION = Actor.system("registration")
FUNDING = Actor.system("payments")

# What a submission may fill in on a known lead, when the lead has nothing there yet.
_FILLABLE = (
    "full_name",
    "email",
    "phone",
    "phone_e164",
    "country",
    "language",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "click_id",
    "referral_code",
)
_CONTACT = frozenset({"email", "phone", "phone_e164"})


@dataclass(frozen=True, slots=True)
class Captured:
    lead_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class Lead:
    id: int
    brand_id: int
    full_name: str
    email: str | None
    phone: str | None
    phone_e164: str | None
    country: str | None
    language: str | None
    source: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    click_id: str | None
    referral_code: str | None
    ib_partner_id: int | None
    status: str
    lost_reason: str | None
    owner_staff_user_id: int | None
    client_id: int | None
    created_at: datetime
    stage_changed_at: datetime
    last_submitted_at: datetime


_COLUMNS = ", ".join(Lead.__dataclass_fields__)


def submit_lead(
    conn: psycopg.Connection[Any],
    site_key: str,
    submission: LeadSubmission,
    idempotency_key: str | None = None,
) -> Captured:
    """A submission from a brand's website, the brand named by its site key."""
    brand_id = brand_for_site_key(conn, site_key)
    if brand_id is None:
        raise InvalidSiteKey("invalid_brand_key", "the brand key is not a live key")
    return capture_lead(conn, brand_id, submission, idempotency_key)


def capture_lead(
    conn: psycopg.Connection[Any],
    brand_id: int,
    submission: LeadSubmission,
    idempotency_key: str | None = None,
) -> Captured:
    """Record a website submission for the brand: a new lead (assigned), or the known one."""
    fields = submission.fields()
    # A concurrent first submission of the same visitor can win the insert: find it then.
    for _ in range(3):
        known = _matching(conn, brand_id, submission.email, submission.phone_e164)
        if known is not None:
            return _resubmitted(conn, known, fields, idempotency_key)
        lead_id = _insert(conn, brand_id, fields)
        if lead_id is not None:
            write_event(
                conn,
                "lead.created",
                lead_id=lead_id,
                channel="web",
                payload={**fields, "idempotency_key": idempotency_key},
            )
            lead = _lead(conn, lead_id)
            _assign(conn, CAPTURE, lead, _facts(lead))
            return Captured(lead_id, True)
    raise CrmError("capture_conflict", "the submission kept colliding with another")


def _matching(
    conn: psycopg.Connection[Any], brand_id: int, email: str | None, phone: str | None
) -> Lead | None:
    with conn.cursor(row_factory=class_row(Lead)) as cur:
        return cur.execute(
            f"""SELECT {_COLUMNS} FROM leads
                WHERE brand_id = %(brand)s
                  AND (lower(email) = lower(%(email)s::text) OR phone_e164 = %(phone)s::text)
                ORDER BY (lower(email) = lower(%(email)s::text)) IS TRUE DESC, id
                LIMIT 1 FOR UPDATE""",
            {"brand": brand_id, "email": email, "phone": phone},
        ).fetchone()


def _insert(conn: psycopg.Connection[Any], brand_id: int, fields: dict[str, Any]) -> int | None:
    ib = None
    if "referral_code" in fields:
        row = conn.execute(
            "SELECT id FROM ib_partners WHERE brand_id = %s AND referral_code = %s",
            (brand_id, fields["referral_code"]),
        ).fetchone()
        ib = None if row is None else row[0]
    columns = ["brand_id", "ib_partner_id", *fields]
    row = conn.execute(
        f"""INSERT INTO leads ({", ".join(columns)})
            VALUES ({", ".join(["%s"] * len(columns))})
            ON CONFLICT DO NOTHING RETURNING id""",
        (brand_id, ib, *fields.values()),
    ).fetchone()
    return None if row is None else int(row[0])


def _resubmitted(
    conn: psycopg.Connection[Any], lead: Lead, fields: dict[str, Any], key: str | None
) -> Captured:
    if (
        key is not None
        and conn.execute(
            "SELECT 1 FROM crm_events WHERE lead_id = %s AND payload->>'idempotency_key' = %s",
            (lead.id, key),
        ).fetchone()
    ):
        return Captured(lead.id, False)
    blanks = {
        name: value
        for name, value in fields.items()
        if name in _FILLABLE and getattr(lead, name) in (None, "")
    }
    try:
        with conn.transaction():
            _fill(conn, lead.id, blanks)
    except psycopg.errors.UniqueViolation:
        # the contact it brings belongs to another lead: keep the rest of it
        blanks = {name: value for name, value in blanks.items() if name not in _CONTACT}
        _fill(conn, lead.id, blanks)
    write_event(
        conn,
        "lead.resubmitted",
        lead_id=lead.id,
        client_id=lead.client_id,
        channel="web",
        payload={**fields, "filled": sorted(blanks), "idempotency_key": key},
    )
    return Captured(lead.id, False)


def _fill(conn: psycopg.Connection[Any], lead_id: int, values: dict[str, Any]) -> None:
    sets = "".join(f", {name} = %s" for name in values)
    conn.execute(
        f"UPDATE leads SET last_submitted_at = now(), updated_at = now(){sets} WHERE id = %s",
        (*values.values(), lead_id),
    )


def _lead(conn: psycopg.Connection[Any], lead_id: int, lock: bool = False) -> Lead:
    with conn.cursor(row_factory=class_row(Lead)) as cur:
        lead = cur.execute(
            f"SELECT {_COLUMNS} FROM leads WHERE id = %s {'FOR UPDATE' if lock else ''}",
            (lead_id,),
        ).fetchone()
    if lead is None:
        raise NotFound("lead", lead_id)
    return lead


def _scoped(
    conn: psycopg.Connection[Any], lead_id: int, brand_ids: Collection[int], lock: bool = True
) -> Lead:
    lead = _lead(conn, lead_id, lock)
    if lead.brand_id not in brand_ids:
        raise NotFound("lead", lead_id)
    return lead


def _facts(lead: Lead) -> assignment.LeadFacts:
    return assignment.LeadFacts(lead.ib_partner_id, lead.country, lead.language)


def _assign(
    conn: psycopg.Connection[Any], actor: Actor, lead: Lead, facts: assignment.LeadFacts
) -> int | None:
    chosen = assignment.assign(conn, lead.brand_id, facts)
    if chosen is None:
        return None
    _set_owner(
        conn, actor, lead, chosen.staff_user_id, {"rule_id": chosen.rule_id, "pool": chosen.pool}
    )
    return chosen.staff_user_id


def _set_owner(
    conn: psycopg.Connection[Any], actor: Actor, lead: Lead, owner: int, how: dict[str, Any]
) -> None:
    conn.execute(
        "UPDATE leads SET owner_staff_user_id = %s, updated_at = now() WHERE id = %s",
        (owner, lead.id),
    )
    audit.record(
        conn,
        actor,
        "lead.assign",
        "lead",
        lead.id,
        {"owner_staff_user_id": lead.owner_staff_user_id},
        {"owner_staff_user_id": owner, **how},
    )
    write_event(
        conn,
        "lead.assigned",
        lead_id=lead.id,
        client_id=lead.client_id,
        staff_user_id=staff_id(actor),
        payload={"owner_staff_user_id": owner, **how},
    )


def reassign_lead(
    conn: psycopg.Connection[Any],
    actor: Actor,
    lead_id: int,
    owner_staff_user_id: int | None,
    *,
    brand_ids: Collection[int],
) -> int | None:
    """Give the lead to a staff member of its brand, or (None) back to the rules."""
    lead = _scoped(conn, lead_id, brand_ids)
    if owner_staff_user_id is None:
        return _assign(conn, actor, lead, _facts(lead))
    if not works_for(conn, owner_staff_user_id, lead.brand_id):
        raise NotFound("staff user", owner_staff_user_id)
    _set_owner(conn, actor, lead, owner_staff_user_id, {"rule_id": None, "pool": "manual"})
    return owner_staff_user_id


def move_lead(
    conn: psycopg.Connection[Any],
    actor: Actor,
    lead_id: int,
    stage: Stage | str,
    reason: str | None = None,
    *,
    brand_ids: Collection[int],
) -> Lead:
    """Move the lead to ``stage`` (lost needs a reason); audited and on its timeline."""
    lead = _scoped(conn, lead_id, brand_ids)
    target = Stage(stage)
    try:
        kept = check_move(
            Stage(lead.status),
            target,
            reason,
            has_client=lead.client_id is not None,
            converting=False,
        )
    except StageRefused as exc:
        raise Refused(exc.code, str(exc)) from exc
    _change_stage(conn, actor, lead, target, kept)
    return _lead(conn, lead_id)


def _change_stage(
    conn: psycopg.Connection[Any], actor: Actor, lead: Lead, target: Stage, reason: str | None
) -> None:
    conn.execute(
        """UPDATE leads SET status = %s, lost_reason = %s, stage_changed_at = now(),
                            updated_at = now() WHERE id = %s""",
        (target.value, reason if target is Stage.LOST else None, lead.id),
    )
    change = {"from": lead.status, "to": target.value, "reason": reason}
    audit.record(
        conn,
        actor,
        "lead.stage",
        "lead",
        lead.id,
        {"status": lead.status, "lost_reason": lead.lost_reason},
        {"status": target.value, "reason": reason},
    )
    write_event(
        conn,
        "lead.stage_changed",
        lead_id=lead.id,
        client_id=lead.client_id,
        staff_user_id=staff_id(actor),
        payload=change,
    )


def convert_lead(
    conn: psycopg.Connection[Any],
    lead_id: int,
    client_id: int,
    actor: Actor = REGISTRATION,
    *,
    brand_ids: Collection[int] | None = None,
) -> None:
    """The lead registered as ``client_id``: its stage becomes registered and its whole
    history (events, tasks) and owner move to the client's timeline. Converting again to the
    same client changes nothing. ``brand_ids`` (a staff member's brands): a lead of another
    brand is not found."""
    lead = (
        _lead(conn, lead_id, lock=True) if brand_ids is None else _scoped(conn, lead_id, brand_ids)
    )
    if lead.client_id == client_id:
        return
    if lead.client_id is not None:
        raise Refused("already_converted", f"lead {lead_id} is client {lead.client_id}")
    if not conn.execute(
        "SELECT 1 FROM clients WHERE id = %s AND brand_id = %s", (client_id, lead.brand_id)
    ).fetchone():
        raise NotFound("client", client_id)
    try:
        check_move(Stage(lead.status), Stage.REGISTERED, None, has_client=True, converting=True)
    except StageRefused as exc:
        raise Refused(exc.code, str(exc)) from exc
    conn.execute(
        """UPDATE leads SET client_id = %s, status = 'registered', lost_reason = NULL,
                            stage_changed_at = now(), updated_at = now() WHERE id = %s""",
        (client_id, lead_id),
    )
    conn.execute(
        "UPDATE crm_events SET client_id = %s WHERE lead_id = %s AND client_id IS NULL",
        (client_id, lead_id),
    )
    conn.execute(
        "UPDATE crm_tasks SET client_id = %s WHERE lead_id = %s AND client_id IS NULL",
        (client_id, lead_id),
    )
    if lead.owner_staff_user_id is not None:
        conn.execute(
            "INSERT INTO client_owners (client_id, staff_user_id) VALUES (%s, %s)"
            " ON CONFLICT (client_id) DO NOTHING",
            (client_id, lead.owner_staff_user_id),
        )
    audit.record(
        conn,
        actor,
        "lead.convert",
        "lead",
        lead_id,
        {"status": lead.status, "client_id": None},
        {"status": "registered", "client_id": client_id},
    )
    write_event(
        conn,
        "lead.converted",
        lead_id=lead_id,
        client_id=client_id,
        staff_user_id=staff_id(actor),
        payload={"from": lead.status, "to": "registered"},
    )


def record_first_deposit(conn: psycopg.Connection[Any], client_id: int) -> int | None:
    """The client's first deposit succeeded: the lead they came from becomes funded (its id;
    None when they came from no lead or it is funded already)."""
    row = conn.execute(
        "SELECT id FROM leads WHERE client_id = %s AND status = 'registered' FOR UPDATE",
        (client_id,),
    ).fetchone()
    if row is None:
        return None
    lead = _lead(conn, int(row[0]))
    _change_stage(conn, FUNDING, lead, Stage.FUNDED, None)
    return lead.id


def convert_matching_lead(conn: psycopg.Connection[Any], client_id: int) -> int | None:
    """At registration: convert the client's brand's open lead with the client's e-mail, if
    there is one (its id)."""
    row = conn.execute(
        """SELECT l.id FROM leads l JOIN clients c ON c.id = %s
           WHERE l.brand_id = c.brand_id AND lower(l.email) = lower(c.email)
             AND l.client_id IS NULL""",
        (client_id,),
    ).fetchone()
    if row is None:
        return None
    convert_lead(conn, int(row[0]), client_id)
    return int(row[0])


def get_lead(conn: psycopg.Connection[Any], lead_id: int, *, brand_ids: Collection[int]) -> Lead:
    return _scoped(conn, lead_id, brand_ids, lock=False)


def list_leads(
    conn: psycopg.Connection[Any],
    *,
    brand_ids: Collection[int],
    stage: Stage | None = None,
    owner_staff_user_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Lead]:
    """Leads of the caller's brands, newest first (page on with the last one's id)."""
    with conn.cursor(row_factory=class_row(Lead)) as cur:
        return cur.execute(
            f"""SELECT {_COLUMNS} FROM leads
                WHERE brand_id = ANY(%(brands)s)
                  AND (%(stage)s::text IS NULL OR status = %(stage)s)
                  AND (%(owner)s::bigint IS NULL OR owner_staff_user_id = %(owner)s)
                  AND (%(before)s::bigint IS NULL OR id < %(before)s)
                ORDER BY id DESC LIMIT %(limit)s""",
            {
                "brands": list(brand_ids),
                "stage": None if stage is None else stage.value,
                "owner": owner_staff_user_id,
                "before": before_id,
                "limit": limit,
            },
        ).fetchall()
