"""Applying the KYC webhooks the inbox holds (the worker's ``kyc-inbox`` job).

Rows are claimed ``FOR UPDATE SKIP LOCKED`` (two workers never take the same row) and each is
applied, recorded as a ``kyc_events`` row that keeps its inbox id, and marked processed in one
transaction: a worker killed half-way leaves the row unprocessed and nothing of it applied. The
raw rows stay in the inbox for good. An event that fails to apply keeps its error and is tried
again at later rounds, up to :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice.audit import Actor
from backoffice.kyc import applications, states
from backoffice.kyc.errors import InvalidEvent
from backoffice.kyc.intake import PROVIDERS
from backoffice.worker import Job, JobContext

log = logging.getLogger(__name__)

ACTOR = Actor.system("kyc")
BATCH = 100
MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class KycWebhook:
    type: str
    applicant_id: str
    external_user_id: str | None
    level_name: str | None
    at: datetime
    event: states.ProviderEvent
    labels: list[str]
    payload: dict[str, Any]


def parse_webhook(body: bytes) -> KycWebhook:
    """The parts of a Sumsub-shaped webhook the review needs."""
    payload = json.loads(body)
    applicant_id = payload.get("applicantId")
    if not isinstance(applicant_id, str) or not applicant_id:
        raise InvalidEvent("the webhook names no applicant")
    at = _created_at(payload)
    result = payload.get("reviewResult") or {}
    event = states.ProviderEvent(
        type=str(payload["type"]),
        at=at,
        answer=result.get("reviewAnswer"),
        reject_type=result.get("reviewRejectType"),
    )
    external = payload.get("externalUserId")
    level_name = payload.get("levelName")
    return KycWebhook(
        type=event.type,
        applicant_id=applicant_id,
        external_user_id=str(external) if external is not None else None,
        level_name=str(level_name) if level_name is not None else None,
        at=at,
        event=event,
        labels=[str(label) for label in result.get("rejectLabels") or []],
        payload=payload,
    )


def _created_at(payload: dict[str, Any]) -> datetime:
    for key, pattern in (("createdAtMs", "%Y-%m-%d %H:%M:%S.%f"),
                         ("createdAt", "%Y-%m-%d %H:%M:%S%z")):  # fmt: skip
        text = payload.get(key)
        if isinstance(text, str):
            try:
                parsed = datetime.strptime(text, pattern)  # noqa: DTZ007 (UTC, made aware below)
            except ValueError:
                continue
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    raise InvalidEvent("the webhook has no createdAt time")


def process_inbox(conn: psycopg.Connection[Any], limit: int = BATCH) -> int:
    """Apply up to ``limit`` unprocessed KYC webhooks (in the caller's transaction); how many
    were handled."""
    rows = conn.execute(
        """SELECT id, provider, raw_body FROM webhook_inbox
           WHERE processed_at IS NULL AND provider = ANY(%s) AND attempts < %s
           ORDER BY received_at, id LIMIT %s FOR UPDATE SKIP LOCKED""",
        (list(PROVIDERS), MAX_ATTEMPTS, limit),
    ).fetchall()
    for inbox_id, provider, raw_body in rows:
        try:
            with conn.transaction():
                error = apply_webhook(conn, inbox_id, provider, bytes(raw_body))
        except (InvalidEvent, ValueError, KeyError, TypeError, psycopg.DataError,
                psycopg.IntegrityError) as exc:  # fmt: skip
            error, done = f"{type(exc).__name__}: {exc}", False
        else:
            done = True
        conn.execute(
            """UPDATE webhook_inbox
               SET processed_at = CASE WHEN %s THEN now() END, attempts = attempts + 1,
                   last_error = %s
               WHERE id = %s""",
            (done, error, inbox_id),
        )
    return len(rows)


def apply_webhook(
    conn: psycopg.Connection[Any], inbox_id: int, provider: str, body: bytes
) -> str | None:
    """Apply one stored event; a note when it concerns no application of ours."""
    webhook = parse_webhook(body)
    # one applicant serves each of the client's levels: the event is about the application
    # at the level it names (a late event about the identity check never decides the
    # proof-of-address application that followed it)
    application = applications.load(
        conn,
        """a.provider = %s AND a.provider_applicant_id = %s
           AND (%s::text IS NULL OR a.provider_level_name IS NULL OR a.provider_level_name = %s)""",
        (provider, webhook.applicant_id, webhook.level_name, webhook.level_name),
    )
    if application is None and (webhook.external_user_id or "").isdigit():
        application = _attach(conn, provider, webhook)
    if application is None:
        return f"no application for applicant {webhook.applicant_id}"
    state = states.ReviewState(application.status, application.state_changed_at)
    transition = states.apply_event(state, webhook.event)
    conn.execute(
        """INSERT INTO kyc_events (application_id, event_type, payload, webhook_inbox_id,
                                   occurred_at, outcome)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (application.id, webhook.type, Jsonb(webhook.payload), inbox_id, webhook.at,
         transition.outcome),
    )  # fmt: skip
    if transition.changed:
        labels = webhook.labels if webhook.event.answer == "RED" else None
        applications.move(conn, ACTOR, application, transition.status, webhook.at, labels)
    return None


def _attach(
    conn: psycopg.Connection[Any], provider: str, webhook: KycWebhook
) -> applications.Application | None:
    # the provider may call back before the call that created the applicant has returned (or
    # committed: the lock waits for it, and the row then matches by the id it got)
    found = applications.load(
        conn,
        """a.client_id = %s AND a.provider = %s
           AND (a.provider_applicant_id IS NULL OR a.provider_applicant_id = %s)
           AND (%s::text IS NULL OR a.provider_level_name IS NULL OR a.provider_level_name = %s)""",
        (int(webhook.external_user_id or 0), provider, webhook.applicant_id, webhook.level_name,
         webhook.level_name),
    )  # fmt: skip
    if found is None:
        return None
    conn.execute(
        """UPDATE kyc_applications
           SET provider_applicant_id = %s, provider_level_name = coalesce(%s, provider_level_name)
           WHERE id = %s""",
        (webhook.applicant_id, webhook.level_name, found.id),
    )
    return applications.load(conn, "a.id = %s", (found.id,))


def run(ctx: JobContext) -> int:
    handled = 0
    while True:
        with ctx.connection() as conn:
            batch = process_inbox(conn)
        handled += batch
        if batch < BATCH:
            return handled


INBOX_JOB = Job("kyc-inbox", 1.0, run)
