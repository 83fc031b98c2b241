"""Who a retention rule hits now: the brand's active clients its trigger matches, less those
it already fired for in this window.

Last login is the last refresh token the api issued the client (0008: every password login
and every token refresh issues one); trades are the deals on the client's live and prop
accounts; deposits are succeeded deposit payments; margin calls come from ``trading_events``
(the event writer lands them from the execution service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg

from backoffice.crm.triggers import Trigger, threshold

# Each trigger: the client's relevant time (the "since" a dry run shows) and the condition.
_SINCE: Final[dict[Trigger, str]] = {
    Trigger.NO_LOGIN_DAYS: """coalesce((SELECT max(r.issued_at) FROM api_refresh_tokens r
                                        WHERE r.client_id = c.id), c.created_at)""",
    Trigger.NO_TRADE_DAYS: """coalesce((SELECT max(d.executed_at) FROM deals d
                                        JOIN trading_accounts a ON a.id = d.trading_account_id
                                        WHERE a.client_id = c.id AND a.kind <> 'demo'),
                                       c.created_at)""",
    Trigger.REGISTERED_NO_DEPOSIT_HOURS: "c.created_at",
    Trigger.KYC_WAITING_HOURS: """(SELECT k.updated_at FROM kyc_applications k
                                   WHERE k.client_id = c.id
                                   ORDER BY k.created_at DESC, k.id DESC LIMIT 1)""",
    Trigger.DECLINED_DEPOSIT: """(SELECT max(p.updated_at) FROM payments p
                                  WHERE p.client_id = c.id AND p.direction = 'deposit'
                                    AND p.status = 'failed')""",
    Trigger.MARGIN_CALL: """(SELECT max(te.occurred_at) FROM trading_events te
                             JOIN trading_accounts a ON a.id = te.account_id
                             WHERE a.client_id = c.id AND te.event_type = 'margin_call')""",
    Trigger.FTD: """(SELECT min(p.updated_at) FROM payments p
                     WHERE p.client_id = c.id AND p.direction = 'deposit'
                       AND p.status = 'succeeded')""",
}

_EXTRA: Final[dict[Trigger, str]] = {
    Trigger.NO_TRADE_DAYS: """AND EXISTS (SELECT 1 FROM trading_accounts a
                                          WHERE a.client_id = c.id AND a.kind <> 'demo')""",
    Trigger.REGISTERED_NO_DEPOSIT_HOURS: """AND NOT EXISTS (
        SELECT 1 FROM payments p WHERE p.client_id = c.id AND p.direction = 'deposit'
                                   AND p.status = 'succeeded')""",
    Trigger.KYC_WAITING_HOURS: """AND (SELECT k.status FROM kyc_applications k
                                      WHERE k.client_id = c.id
                                      ORDER BY k.created_at DESC, k.id DESC LIMIT 1)
                                  IN ('created', 'submitted', 'in_review',
                                      'resubmission_requested')""",
}


@dataclass(frozen=True, slots=True)
class Hit:
    client_id: int
    email: str
    since: datetime  # last login / trade, registration, the event: what the trigger saw


def audience(
    conn: psycopg.Connection[Any],
    rule_id: int,
    brand_id: int,
    trigger: Trigger,
    params: dict[str, int],
    now: datetime,
    window: datetime,
) -> list[Hit]:
    """Clients the rule fires for now, by id."""
    if trigger in (Trigger.DECLINED_DEPOSIT, Trigger.MARGIN_CALL, Trigger.FTD):
        # the event happened in this window (and by now)
        condition, bounds = "since >= %(window)s AND since <= %(now)s", {}
    else:
        condition, bounds = "since < %(before)s", {"before": threshold(now, trigger, params)}
    rows = conn.execute(
        f"""SELECT id, email, since FROM (
                SELECT c.id, c.email, {_SINCE[trigger]} AS since
                FROM clients c
                WHERE c.brand_id = %(brand)s AND c.status = 'active' {_EXTRA.get(trigger, "")}
                  AND NOT EXISTS (SELECT 1 FROM automation_firings f
                                  WHERE f.rule_id = %(rule)s AND f.client_id = c.id
                                    AND f.window_start = %(window)s)
            ) candidates
            WHERE {condition}
            ORDER BY id""",
        {"brand": brand_id, "rule": rule_id, "window": window, "now": now, **bounds},
    ).fetchall()
    return [Hit(int(row[0]), row[1], row[2]) for row in rows]
