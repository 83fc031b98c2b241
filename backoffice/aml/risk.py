"""Scoring a client's risk from the warehouse and recording what it drives.

Each score is a row of ``client_risk_scores`` with its factors; ``client_due_diligence``
holds the level it drives (standard or enhanced), the document kinds the KYC area must
collect and the next periodic review. A change of level is audited and on the timeline.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice.aml.errors import AmlError
from backoffice.aml.risk_rules import REVIEW_MONTHS, RiskAssessment, RiskInputs, assess
from backoffice.audit import Actor, record
from backoffice.worker import JobContext

_SYSTEM = Actor.system("aml.risk")
BATCH = 500


def score_client(
    conn: psycopg.Connection[Any], client_id: int, actor: Actor = _SYSTEM
) -> RiskAssessment:
    """Score the client now, store the score and the due diligence it asks for."""
    row = conn.execute(
        """SELECT country, nationality, occupation, expected_annual_deposit,
                  EXISTS (SELECT 1 FROM aml_cases k WHERE k.client_id = c.id AND k.kind = 'pep'
                          AND k.status <> 'cleared'),
                  (SELECT count(*) FROM aml_alerts a WHERE a.client_id = c.id
                   AND a.status <> 'closed'),
                  current_date
           FROM clients c WHERE id = %s""",
        (client_id,),
    ).fetchone()
    if row is None:
        raise AmlError("client_not_found", f"no client {client_id}")
    country, nationality, occupation, deposits, pep, alerts, today = row
    high_risk = dict(conn.execute("SELECT country, reason FROM aml_country_risk").fetchall())
    result = assess(
        RiskInputs(country, nationality, high_risk, pep, occupation, deposits, int(alerts))
    )
    factors = [asdict(f) for f in result.factors]
    score = conn.execute(
        """INSERT INTO client_risk_scores (client_id, level, points, factors)
           VALUES (%s, %s, %s, %s) RETURNING id""",
        (client_id, result.level, result.points, Jsonb(factors)),
    ).fetchone()
    assert score is not None
    _due_diligence(conn, actor, client_id, result, int(score[0]), today, factors)
    return result


def _due_diligence(
    conn: psycopg.Connection[Any],
    actor: Actor,
    client_id: int,
    result: RiskAssessment,
    score_id: int,
    today: date,
    factors: list[dict[str, Any]],
) -> None:
    before = conn.execute(
        """SELECT d.level, d.next_review_on, s.level FROM client_due_diligence d
           JOIN client_risk_scores s ON s.id = d.risk_score_id
           WHERE d.client_id = %s FOR UPDATE OF d""",
        (client_id,),
    ).fetchone()
    next_review = result.next_review(today, before[1] if before else None)
    conn.execute(
        """INSERT INTO client_due_diligence (client_id, level, required_document_kinds,
                      review_interval_months, next_review_on, risk_score_id)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (client_id) DO UPDATE SET level = EXCLUDED.level,
               required_document_kinds = EXCLUDED.required_document_kinds,
               review_interval_months = EXCLUDED.review_interval_months,
               next_review_on = EXCLUDED.next_review_on,
               risk_score_id = EXCLUDED.risk_score_id, updated_at = now()""",
        (
            client_id,
            result.due_diligence,
            list(result.required_documents),
            REVIEW_MONTHS[result.level],
            next_review,
            score_id,
        ),
    )
    if before is not None and before[2] == result.level:
        return
    was = (
        None
        if before is None
        else {"risk_level": before[2], "due_diligence": before[0], "next_review_on": before[1]}
    )
    now = {
        "risk_level": result.level,
        "points": result.points,
        "factors": factors,
        "due_diligence": result.due_diligence,
        "next_review_on": next_review,
        "required_document_kinds": list(result.required_documents),
    }
    record(conn, actor, "aml.risk_level", "client", client_id, was, now)
    conn.execute(
        """INSERT INTO crm_events (occurred_at, client_id, event_type, payload)
           VALUES (now(), %s, 'aml.risk_level', %s)""",
        (
            client_id,
            Jsonb(
                {
                    "risk_level": result.level,
                    "due_diligence": result.due_diligence,
                    "next_review_on": next_review.isoformat(),
                }
            ),
        ),
    )


_DUE = """
SELECT c.id FROM clients c
LEFT JOIN LATERAL (SELECT scored_at FROM client_risk_scores s WHERE s.client_id = c.id
                   ORDER BY scored_at DESC, id DESC LIMIT 1) s ON true
WHERE c.status <> 'closed'
  AND (s.scored_at IS NULL
       OR c.updated_at > s.scored_at
       OR EXISTS (SELECT 1 FROM aml_cases k WHERE k.client_id = c.id
                  AND k.updated_at > s.scored_at)
       OR EXISTS (SELECT 1 FROM aml_alerts a WHERE a.client_id = c.id
                  AND a.created_at > s.scored_at))
ORDER BY c.id LIMIT %s
"""


def score_due(conn: psycopg.Connection[Any], limit: int = BATCH) -> int:
    """Score clients never scored, or changed (profile, cases, alerts) since their last score."""
    due = [r[0] for r in conn.execute(_DUE, (limit,))]
    for client_id in due:
        score_client(conn, client_id)
    return len(due)


def risk_job(ctx: JobContext) -> int:
    with ctx.connection() as conn:
        return score_due(conn)
