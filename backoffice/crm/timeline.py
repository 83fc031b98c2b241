"""One timeline per client: every timeline row the areas write (``crm_events``: the lead's
history, notes, messages, KYC decisions, payments, automations), the client's tasks, and
trading milestones from what the execution service journaled and the event writer landed —
the first trade (the first opening deal on a live or prop account, from ``deals``), margin
calls and stop-outs (``trading_events``).

Newest first, paged by a cursor: the (time, source, id) of the last item seen, so a page
never repeats or skips an item however many arrive meanwhile.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from backoffice.crm.errors import NotFound, Refused

MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class TimelineItem:
    kind: str  # the event type ('note.added', 'kyc.approved', ...), 'task', 'trading.*'
    time: datetime
    actor: str
    summary: str
    channel: str
    source: str  # crm, task, first_trade, trading: with id, the item's identity
    id: int
    details: dict[str, Any]

    @property
    def cursor(self) -> str:
        """Pass as ``before`` for the items after this one."""
        return f"{self.time.isoformat()}|{self.source}|{self.id}"


@dataclass(frozen=True, slots=True)
class TimelinePage:
    items: list[TimelineItem]
    next_before: str | None  # None: nothing older


def _parse_cursor(before: str) -> tuple[datetime, str, int]:
    try:
        at, source, ident = before.split("|")
        time = datetime.fromisoformat(at)
        if time.tzinfo is None:
            raise ValueError("naive time")
        return time, source, int(ident)
    except ValueError as exc:
        raise Refused("invalid_cursor", "before is not a cursor this timeline gave") from exc


_ITEMS = """
WITH items AS (
    SELECT e.occurred_at AS at, 'crm' AS source, e.id, e.event_type AS kind, e.channel,
           e.staff_user_id, e.payload AS details
    FROM crm_events e WHERE e.client_id = %(client)s
    UNION ALL
    SELECT t.created_at, 'task', t.id, 'task', 'system', t.created_by_staff_user_id,
           jsonb_build_object('subject', t.subject, 'status', t.status, 'due_at', t.due_at,
                              'owner_staff_user_id', t.owner_staff_user_id,
                              'rule_id', t.created_by_rule_id)
    FROM crm_tasks t WHERE t.client_id = %(client)s
    UNION ALL
    (SELECT d.executed_at, 'first_trade', d.id, 'trading.first_trade', 'trading', NULL,
            jsonb_build_object('login', a.login, 'symbol', i.symbol, 'side', d.side,
                               'volume', d.volume::text, 'price', d.price::text)
     FROM deals d
     JOIN trading_accounts a ON a.id = d.trading_account_id
     JOIN instruments i ON i.id = d.instrument_id
     WHERE a.client_id = %(client)s AND a.kind <> 'demo' AND d.entry = 'IN'
     ORDER BY d.executed_at, d.id LIMIT 1)
    UNION ALL
    SELECT te.occurred_at, 'trading', te.id, 'trading.' || te.event_type, 'trading', NULL,
           jsonb_build_object('login', a.login, 'margin_level', te.margin_level::text,
                              'equity', te.equity::text, 'position_id', te.position_id)
    FROM trading_events te JOIN trading_accounts a ON a.id = te.account_id
    WHERE a.client_id = %(client)s
)
SELECT i.at, i.source, i.id, i.kind, i.channel, i.details, s.display_name
FROM items i LEFT JOIN staff_users s ON s.id = i.staff_user_id
WHERE %(at)s::timestamptz IS NULL
   OR (i.at, i.source, i.id) < (%(at)s::timestamptz, %(source)s::text, %(ident)s::bigint)
ORDER BY i.at DESC, i.source DESC, i.id DESC
LIMIT %(limit)s
"""


def client_timeline(
    conn: psycopg.Connection[Any],
    client_id: int,
    before: str | None = None,
    limit: int = 50,
    *,
    brand_ids: Collection[int],
) -> TimelinePage:
    """A page of the client's timeline, newest first, older than the ``before`` cursor."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Refused("invalid_limit", f"limit is 1 to {MAX_LIMIT}")
    if not conn.execute(
        "SELECT 1 FROM clients WHERE id = %s AND brand_id = ANY(%s)", (client_id, list(brand_ids))
    ).fetchone():
        raise NotFound("client", client_id)
    at, source, ident = _parse_cursor(before) if before is not None else (None, None, None)
    rows = conn.execute(
        _ITEMS,
        {"client": client_id, "at": at, "source": source, "ident": ident, "limit": limit + 1},
    ).fetchall()
    items = [_item(*row) for row in rows[:limit]]
    return TimelinePage(items, items[-1].cursor if len(rows) > limit else None)


def _item(
    at: datetime,
    source: str,
    ident: int,
    kind: str,
    channel: str,
    details: dict[str, Any],
    staff_name: str | None,
) -> TimelineItem:
    return TimelineItem(
        kind,
        at,
        actor(source, details, staff_name),
        summarise(kind, details),
        channel,
        source,
        ident,
        details,
    )


def actor(source: str, details: dict[str, Any], staff_name: str | None) -> str:
    """Who acted: the staff member, else the automation, the trading core, or the system."""
    if staff_name is not None:
        return staff_name
    if source == "task" and details.get("rule_id") is not None:
        return "automation"
    if source in ("trading", "first_trade"):
        return "execution service"
    return str(details.get("actor") or "system")


def summarise(kind: str, d: dict[str, Any]) -> str:
    """One line for a person reading the timeline."""
    match kind:
        case "lead.created":
            return f"Lead captured ({d.get('source', 'web')})"
        case "lead.resubmitted":
            return "Lead submitted the form again"
        case "lead.assigned":
            return f"Assigned to staff {d.get('owner_staff_user_id')}"
        case "lead.stage_changed":
            why = f": {d['reason']}" if d.get("reason") else ""
            return f"Stage {d.get('from')} -> {d.get('to')}{why}"
        case "lead.converted":
            return "Registered as a client"
        case "note.added":
            text = str(d.get("text", ""))
            return text if len(text) <= 200 else text[:199] + "…"
        case "automation.fired":
            return f"Automation: {d.get('rule_name')}"
        case "task":
            return f"Task ({d.get('status')}): {d.get('subject')}"
        case "trading.first_trade":
            return (
                f"First trade: {d.get('side')} {d.get('volume')} {d.get('symbol')}"
                f" on account {d.get('login')}"
            )
        case "trading.margin_call":
            return f"Margin call on account {d.get('login')} (margin level {d.get('margin_level')})"
        case "trading.stop_out":
            return f"Stop-out on account {d.get('login')}: position {d.get('position_id')}"
    return str(d.get("summary") or kind.replace("_", " ").replace(".", ": "))
