"""Retention automations: rules as data (``automation_rules``: a trigger, its parameters, a
task for the client's owner and/or a template sent, a window), run by the worker.

A rule fires at most once per client per window: the firing row's unique key (rule, client,
window start) is claimed first, and the task, the message and the timeline row are written
in the same transaction, so a worker killed in the middle of a run leaves each client either
fully done or untouched, and the next run finishes the rest. A dry run lists exactly who the
next run would hit.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from backoffice import audit
from backoffice.audit import Actor
from backoffice.crm import assignment
from backoffice.crm.audiences import Hit, audience
from backoffice.crm.errors import NotFound, Refused
from backoffice.crm.events import Subject, write_event
from backoffice.crm.tasks import insert_task
from backoffice.crm.triggers import Trigger, check_params, window_start

log = logging.getLogger(__name__)

AUTOMATIONS = Actor.system("retention-automations")
RETENTION_ROLE = "retention"
DEFAULT_LANGUAGE = "en"


class Send(Protocol):
    """Queue a templated message in the caller's transaction (the messages area's outbox
    ``backoffice.comms.outbox.enqueue``); the message's id."""

    def __call__(
        self,
        conn: psycopg.Connection[Any],
        *,
        brand_id: int,
        template: str,
        language: str,
        channel: str,
        client_id: int | None = None,
        lead_id: int | None = None,
        to: str | None = None,
        context: Mapping[str, Any] = ...,
        idempotency_key: str | None = None,
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    brand_id: int
    name: str
    trigger: str
    params: dict[str, Any]
    task_subject: str | None
    task_due_hours: int
    template: str | None
    channel: str | None
    window_hours: int
    enabled: bool


_COLUMNS = ", ".join(Rule.__dataclass_fields__)


def _rules(conn: psycopg.Connection[Any], where: str, args: tuple[Any, ...]) -> list[Rule]:
    with conn.cursor(row_factory=class_row(Rule)) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM automation_rules WHERE {where} ORDER BY id", args
        ).fetchall()


def _hits(conn: psycopg.Connection[Any], rule: Rule, now: datetime) -> tuple[datetime, list[Hit]]:
    trigger = Trigger(rule.trigger)
    window = window_start(now, rule.window_hours)
    hits = audience(
        conn, rule.id, rule.brand_id, trigger, check_params(trigger, rule.params), now, window
    )
    return window, hits


def dry_run(
    conn: psycopg.Connection[Any],
    rule_id: int,
    now: datetime | None = None,
    *,
    brand_ids: Collection[int] | None = None,
) -> list[Hit]:
    """Who the rule would hit if it ran now (disabled or not), changing nothing.
    ``brand_ids``: a staff member's brands; None for the operator's command line."""
    rules = _rules(conn, "id = %s", (rule_id,))
    if not rules or (brand_ids is not None and rules[0].brand_id not in brand_ids):
        raise NotFound("automation rule", rule_id)
    return _hits(conn, rules[0], now or datetime.now(UTC))[1]


def run_automations(conn: psycopg.Connection[Any], send: Send, now: datetime | None = None) -> int:
    """One round of every enabled rule; how many firings it made.

    Each firing is its own transaction block: on an autocommit connection (the worker's) each
    commits as it is made; inside a caller's transaction they are savepoints of it.
    """
    fired = 0
    for rule in _rules(conn, "enabled", ()):
        moment = now or datetime.now(UTC)
        try:
            window, hits = _hits(conn, rule, moment)
            for hit in hits:
                fired += fire(conn, rule, hit, window, moment, send)
        except Exception:
            # one rule failing (its template unknown to the outbox, say) holds up no other;
            # what it did before failing stays done, the rest is retried next round
            log.exception("automation rule %s failed; retried next round", rule.id)
    return fired


class _NoOwner(Exception):
    pass


def fire(
    conn: psycopg.Connection[Any],
    rule: Rule,
    hit: Hit,
    window: datetime,
    now: datetime,
    send: Send,
) -> bool:
    """Fire ``rule`` for one client in ``window`` unless it already has; whether it did."""
    try:
        with conn.transaction():
            row = conn.execute(
                """INSERT INTO automation_firings (rule_id, client_id, window_start)
                   VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING id""",
                (rule.id, hit.client_id, window),
            ).fetchone()
            if row is None:
                return False
            task_id = _task(conn, rule, hit, now) if rule.task_subject else None
            message_id = _message(conn, rule, hit, window, send) if rule.template else None
            conn.execute(
                "UPDATE automation_firings SET task_id = %s, message_id = %s WHERE id = %s",
                (task_id, message_id, row[0]),
            )
            facts = {
                "rule_id": rule.id,
                "rule_name": rule.name,
                "trigger": rule.trigger,
                "window_start": window.isoformat(),
                "since": hit.since.isoformat(),
                "task_id": task_id,
                "message_id": message_id,
            }
            write_event(conn, "automation.fired", client_id=hit.client_id, payload=facts)
            audit.record(conn, AUTOMATIONS, "automation.fire", "client", hit.client_id, None, facts)
    except _NoOwner:
        log.warning(
            "rule %s: client %s has no owner and nobody can take it; retried next round",
            rule.id,
            hit.client_id,
        )
        return False
    return True


def _task(conn: psycopg.Connection[Any], rule: Rule, hit: Hit, now: datetime) -> int:
    assert rule.task_subject is not None
    owner = client_owner(conn, rule.brand_id, hit.client_id)
    if owner is None:
        raise _NoOwner
    return insert_task(
        conn,
        AUTOMATIONS,
        Subject(rule.brand_id, hit.client_id, None),
        owner,
        rule.task_subject,
        now + timedelta(hours=rule.task_due_hours),
        rule_id=rule.id,
    )


def _message(
    conn: psycopg.Connection[Any], rule: Rule, hit: Hit, window: datetime, send: Send
) -> int:
    assert rule.template is not None
    assert rule.channel is not None
    row = conn.execute(
        """SELECT c.first_name, c.last_name,
                  (SELECT l.language FROM leads l WHERE l.client_id = c.id
                   ORDER BY l.id LIMIT 1)
           FROM clients c WHERE c.id = %s""",
        (hit.client_id,),
    ).fetchone()
    assert row is not None
    return send(
        conn,
        brand_id=rule.brand_id,
        template=rule.template,
        language=row[2] or DEFAULT_LANGUAGE,
        channel=rule.channel,
        client_id=hit.client_id,
        context={"first_name": row[0], "last_name": row[1], "rule": rule.name},
        idempotency_key=f"automation:{rule.id}:{hit.client_id}:{window:%Y%m%dT%H%M%SZ}",
    )


def client_owner(conn: psycopg.Connection[Any], brand_id: int, client_id: int) -> int | None:
    """The client's owner (while enabled); else the next of the brand's retention staff (or,
    with none, sales staff) in rotation, who becomes the owner."""
    row = conn.execute(
        """SELECT o.staff_user_id FROM client_owners o JOIN staff_users s ON s.id = o.staff_user_id
           WHERE o.client_id = %s AND s.enabled""",
        (client_id,),
    ).fetchone()
    if row is not None:
        return int(row[0])
    for role in (RETENTION_ROLE, assignment.SALES_ROLE):
        staff = assignment.staff_with_role(conn, brand_id, role)
        if staff:
            owner = assignment.take_turn(conn, f"brand:{brand_id}:{role}", staff)
            conn.execute(
                """INSERT INTO client_owners (client_id, staff_user_id) VALUES (%s, %s)
                   ON CONFLICT (client_id) DO UPDATE SET staff_user_id = EXCLUDED.staff_user_id,
                                                         assigned_at = now()""",
                (client_id, owner),
            )
            audit.record(
                conn,
                AUTOMATIONS,
                "client.owner",
                "client",
                client_id,
                None,
                {"staff_user_id": owner, "pool": f"brand:{brand_id}:{role}"},
            )
            return owner
    return None


def create_rule(
    conn: psycopg.Connection[Any],
    actor: Actor,
    brand_id: int,
    name: str,
    trigger: Trigger | str,
    params: dict[str, Any],
    window_hours: int,
    *,
    brand_ids: Collection[int],
    task_subject: str | None = None,
    task_due_hours: int = 24,
    template: str | None = None,
    channel: str | None = None,
) -> int:
    """A new enabled rule of one of the caller's brands (audited)."""
    if brand_id not in brand_ids:
        raise NotFound("brand", brand_id)
    try:
        kind = Trigger(trigger)
        checked = check_params(kind, params)
    except ValueError as exc:
        raise Refused("invalid_rule", str(exc)) from exc
    if task_subject is None and template is None:
        raise Refused("invalid_rule", "a rule creates a task, sends a template, or both")
    if (template is None) != (channel is None):
        raise Refused("invalid_rule", "a template needs its channel (email or sms)")
    row = conn.execute(
        """INSERT INTO automation_rules (brand_id, name, trigger, params, task_subject,
                                         task_due_hours, template, channel, window_hours)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (brand_id, name) DO NOTHING RETURNING id""",
        (
            brand_id,
            name,
            kind.value,
            Jsonb(checked),
            task_subject,
            task_due_hours,
            template,
            channel,
            window_hours,
        ),
    ).fetchone()
    if row is None:
        raise Refused("rule_exists", f"the brand already has a rule named {name!r}")
    audit.record(
        conn,
        actor,
        "automation_rule.create",
        "automation_rule",
        row[0],
        None,
        {
            "brand_id": brand_id,
            "name": name,
            "trigger": kind.value,
            "params": checked,
            "task_subject": task_subject,
            "template": template,
            "channel": channel,
            "window_hours": window_hours,
        },
    )
    return int(row[0])


def set_rule_enabled(
    conn: psycopg.Connection[Any],
    actor: Actor,
    rule_id: int,
    enabled: bool,
    *,
    brand_ids: Collection[int],
) -> None:
    rules = _rules(conn, "id = %s AND brand_id = ANY(%s)", (rule_id, list(brand_ids)))
    if not rules:
        raise NotFound("automation rule", rule_id)
    if rules[0].enabled == enabled:
        return
    conn.execute("UPDATE automation_rules SET enabled = %s WHERE id = %s", (enabled, rule_id))
    audit.record(
        conn,
        actor,
        "automation_rule.enable",
        "automation_rule",
        rule_id,
        {"enabled": rules[0].enabled},
        {"enabled": enabled},
    )


def list_rules(conn: psycopg.Connection[Any], *, brand_ids: Collection[int]) -> list[Rule]:
    return _rules(conn, "brand_id = ANY(%s)", (list(brand_ids),))
