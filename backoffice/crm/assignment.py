"""Who gets a lead: the brand's assignment rules in their order (the referring IB's desk,
country and language desks, as the brand sets them up), then round robin among the brand's
active sales staff.

A rule matches when each of its criteria does (an unset criterion matches anything) and its
desk has an active member; within a desk, too, leads go round. Each rotation's last pick is
kept in ``crm_assignment_cursors`` (under a lock on the rotation), so it stays fair across
restarts and between api processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

SALES_ROLE = "sales"


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What the rules look at."""

    ib_partner_id: int | None
    country: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class AssignmentRule:
    id: int
    name: str
    ib_partner_id: int | None
    countries: frozenset[str] | None
    languages: frozenset[str] | None
    desk: tuple[int, ...]  # its active members, by id


@dataclass(frozen=True, slots=True)
class Assignment:
    staff_user_id: int
    rule_id: int | None  # None: the round robin of the brand's sales staff
    pool: str


def matches(rule: AssignmentRule, lead: LeadFacts) -> bool:
    if rule.ib_partner_id is not None and rule.ib_partner_id != lead.ib_partner_id:
        return False
    if rule.countries is not None and lead.country not in rule.countries:
        return False
    return rule.languages is None or lead.language in rule.languages


def first_desk(rules: Sequence[AssignmentRule], lead: LeadFacts) -> AssignmentRule | None:
    """The first rule (in order) that matches and has someone to take the lead."""
    return next((rule for rule in rules if rule.desk and matches(rule, lead)), None)


def next_in_rotation(staff: Sequence[int], last: int | None) -> int:
    """The one after ``last`` in id order, wrapping round (the first when ``last`` is gone)."""
    ordered = sorted(staff)
    return next((s for s in ordered if last is None or s > last), ordered[0])


def staff_with_role(conn: psycopg.Connection[Any], brand_id: int, role: str) -> list[int]:
    """Enabled staff of the brand (or of every brand) holding ``role``, by id."""
    rows = conn.execute(
        """SELECT s.id FROM staff_users s
           JOIN staff_user_roles ur ON ur.staff_user_id = s.id
           JOIN roles r ON r.id = ur.role_id
           WHERE r.code = %s AND s.enabled AND (s.brand_id IS NULL OR s.brand_id = %s)
           ORDER BY s.id""",
        (role, brand_id),
    ).fetchall()
    return [int(r[0]) for r in rows]


def load_rules(conn: psycopg.Connection[Any], brand_id: int) -> list[AssignmentRule]:
    rows = conn.execute(
        """SELECT r.id, r.name, r.ib_partner_id, r.countries, r.languages,
                  coalesce(array_agg(s.id ORDER BY s.id) FILTER (WHERE s.id IS NOT NULL), '{}')
           FROM lead_assignment_rules r
           LEFT JOIN lead_assignment_desk_members m ON m.rule_id = r.id
           LEFT JOIN staff_users s ON s.id = m.staff_user_id AND s.enabled
                                   AND (s.brand_id IS NULL OR s.brand_id = r.brand_id)
           WHERE r.brand_id = %s AND r.enabled
           GROUP BY r.id ORDER BY r.position""",
        (brand_id,),
    ).fetchall()
    return [
        AssignmentRule(
            id=int(row[0]),
            name=row[1],
            ib_partner_id=row[2],
            countries=None if row[3] is None else frozenset(row[3]),
            languages=None if row[4] is None else frozenset(row[4]),
            desk=tuple(row[5]),
        )
        for row in rows
    ]


def take_turn(conn: psycopg.Connection[Any], pool: str, staff: Sequence[int]) -> int:
    """The next of ``staff`` in the rotation ``pool``, recorded (in the caller's transaction)."""
    # Serialises picks of one rotation until the caller commits, so two leads arriving at
    # once go to two people.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('crm-rotation:' || %s))", (pool,))
    row = conn.execute(
        "SELECT staff_user_id FROM crm_assignment_cursors WHERE pool = %s", (pool,)
    ).fetchone()
    chosen = next_in_rotation(staff, None if row is None else int(row[0]))
    conn.execute(
        """INSERT INTO crm_assignment_cursors (pool, staff_user_id) VALUES (%s, %s)
           ON CONFLICT (pool) DO UPDATE SET staff_user_id = EXCLUDED.staff_user_id,
                                            updated_at = now()""",
        (pool, chosen),
    )
    return chosen


def assign(
    conn: psycopg.Connection[Any], brand_id: int, lead: LeadFacts, role: str = SALES_ROLE
) -> Assignment | None:
    """Who takes a lead of the brand (None: nobody holds ``role``)."""
    desk = first_desk(load_rules(conn, brand_id), lead)
    if desk is not None:
        pool = f"rule:{desk.id}"
        return Assignment(take_turn(conn, pool, desk.desk), desk.id, pool)
    staff = staff_with_role(conn, brand_id, role)
    if not staff:
        return None
    pool = f"brand:{brand_id}:{role}"
    return Assignment(take_turn(conn, pool, staff), None, pool)
