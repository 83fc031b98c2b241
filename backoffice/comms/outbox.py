"""The outbox: every e-mail and SMS the back office sends, rendered when it is queued, and its
delivery state from then on.

Other areas send through :func:`enqueue` alone, in their own transaction: the message exists
if and only if the change that caused it commits. The worker (:mod:`backoffice.comms.delivery`)
claims due messages with :func:`claim_next` and marks them with :func:`mark_sent` /
:func:`mark_failed`; the SMS provider's status callbacks move them on with :func:`advance`.
A state only moves forward (see :mod:`backoffice.comms.rules`), and the move that hands a
message to the provider puts it on the client's (or lead's) timeline, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice.comms.errors import MessageRefused
from backoffice.comms.message_templates import find_template, render
from backoffice.comms.rules import (
    Channel,
    State,
    checked_language,
    checked_recipient,
    gives_up,
    left_our_hands,
    moves_forward,
    retry_delay,
)

_NO_CONTEXT: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed message, as a transport sends it."""

    id: int
    channel: Channel
    sender_name: str | None
    sender_address: str | None
    recipient: str
    subject: str | None
    body_text: str
    body_html: str | None
    attempts: int  # this attempt's number
    created_at: datetime


def enqueue(
    conn: psycopg.Connection[Any],
    *,
    brand_id: int,
    template: str,
    language: str | None,
    channel: Channel,
    client_id: int | None = None,
    lead_id: int | None = None,
    to: str | None = None,
    context: Mapping[str, Any] = _NO_CONTEXT,
    idempotency_key: str | None = None,
) -> int:
    """Render a template now and queue the message; its id.

    ``to`` defaults to the client's (else the lead's) e-mail address, or the lead's phone for
    an SMS; ``language`` None means the brand's default language. The context gets ``brand``
    (code, name), ``name`` (the client's first name or the lead's name) and ``client`` /
    ``lead`` when known; the caller's ``context`` overrides them. The same
    ``idempotency_key`` again returns the first message's id and queues nothing. Refusals
    (:class:`MessageRefused`: unknown template, missing variable, bad recipient, ...) store
    nothing.
    """
    if idempotency_key is not None:
        existing = _by_key(conn, idempotency_key)
        if existing is not None:
            return existing
    brand = conn.execute(
        """SELECT code, name, default_language, mail_from_name, mail_from_address, sms_from
           FROM brands WHERE id = %s""",
        (brand_id,),
    ).fetchone()
    if brand is None:
        raise MessageRefused("unknown_party", f"no brand {brand_id}", brand_id=brand_id)
    code, brand_name, default_language, from_name, from_address, sms_from = brand
    party, addresses = _party(conn, brand_id, client_id, lead_id)
    address = to if to is not None else addresses.get(channel)
    if not address:
        raise MessageRefused(
            "no_recipient",
            f"no {channel} address to send {template!r} to",
            channel=channel,
            client_id=client_id,
            lead_id=lead_id,
        )
    recipient = checked_recipient(channel, address)
    wanted = None if language is None else checked_language(language)
    source = find_template(conn, brand_id, template, channel, wanted, default_language)
    rendered = render(source, {"brand": {"code": code, "name": brand_name}, **party, **context})
    if channel == "email":
        sender_name, sender_address = from_name or brand_name, from_address
    else:
        sender_name, sender_address = None, sms_from
    row = conn.execute(
        """INSERT INTO messages (brand_id, client_id, lead_id, channel, template_key, language,
                                 sender_name, sender_address, recipient, subject, body_text,
                                 body_html, next_attempt_at, idempotency_key)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id""",
        (
            brand_id,
            client_id,
            lead_id,
            channel,
            template,
            rendered.language,
            sender_name,
            sender_address,
            recipient,
            rendered.subject,
            rendered.body_text,
            rendered.body_html,
            idempotency_key,
        ),
    ).fetchone()
    if row is None:  # another transaction queued the same key first
        assert idempotency_key is not None
        existing = _by_key(conn, idempotency_key)
        assert existing is not None
        return existing
    return int(row[0])


def claim_next(conn: psycopg.Connection[Any], lease_seconds: float) -> Outgoing | None:
    """Take the most overdue message (queued and due, or claimed by a worker whose lease
    lapsed) for ``lease_seconds``; commit before sending, so the claim outlives this worker."""
    row = conn.execute(
        """UPDATE messages m
           SET state = 'sending', attempts = m.attempts + 1, last_attempt_at = now(),
               next_attempt_at = now() + make_interval(secs => %s), updated_at = now()
           FROM (SELECT id FROM messages
                 WHERE state IN ('queued', 'sending') AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) due
           WHERE m.id = due.id
           RETURNING m.id, m.channel, m.sender_name, m.sender_address, m.recipient, m.subject,
                     m.body_text, m.body_html, m.attempts, m.created_at""",
        (lease_seconds,),
    ).fetchone()
    return None if row is None else Outgoing(*row)


def mark_sent(conn: psycopg.Connection[Any], message_id: int, provider_message_id: str) -> bool:
    """The provider accepted the message; False when it had already moved on (a status
    callback came first, or another worker's copy was marked)."""
    return advance(conn, message_id, "sent", provider_message_id=provider_message_id) is not None


def mark_failed(
    conn: psycopg.Connection[Any],
    message: Outgoing,
    error: str,
    *,
    permanent: bool,
    max_attempts: int,
    first_retry_seconds: float,
    most_retry_seconds: float,
) -> State | None:
    """This attempt failed: queued again after the backoff, or failed for good after the last
    attempt (or at once for an error retrying cannot mend). None when the claim was no longer
    this attempt's (its lease lapsed and another worker took the message)."""
    final = permanent or gives_up(message.attempts, max_attempts)
    delay = retry_delay(message.attempts, first_retry_seconds, most_retry_seconds)
    row = conn.execute(
        """UPDATE messages SET state = %(state)s, last_error = %(error)s, updated_at = now(),
               next_attempt_at = CASE WHEN %(final)s THEN NULL ELSE now() + %(delay)s END
           WHERE id = %(id)s AND state = 'sending' AND attempts = %(attempts)s
           RETURNING client_id, lead_id, channel, template_key, recipient""",
        {
            "state": "failed" if final else "queued",
            "error": error[:2000],
            "final": final,
            "delay": delay,
            "id": message.id,
            "attempts": message.attempts,
        },
    ).fetchone()
    if row is None:
        return None
    if final:
        _on_timeline(conn, message.id, "message_failed", *row, error=error[:500])
    return "failed" if final else "queued"


def advance(
    conn: psycopg.Connection[Any],
    message_id: int,
    target: State,
    *,
    provider_message_id: str | None = None,
    error: str | None = None,
) -> State | None:
    """Move a message forward to ``target`` (sent, delivered, undelivered); the state it left,
    or None when it was already there or beyond."""
    row = conn.execute(
        """SELECT state, client_id, lead_id, channel, template_key, recipient
           FROM messages WHERE id = %s FOR UPDATE""",
        (message_id,),
    ).fetchone()
    if row is None:
        return None
    current: State = row[0]
    if not moves_forward(current, target):
        return None
    conn.execute(
        """UPDATE messages SET state = %(target)s, next_attempt_at = NULL, updated_at = now(),
               provider_message_id = coalesce(provider_message_id, %(provider)s),
               sent_at = coalesce(sent_at, now()),
               delivered_at = CASE WHEN %(target)s IN ('delivered', 'undelivered') THEN now() END,
               last_error = coalesce(%(error)s, last_error)
           WHERE id = %(id)s""",
        {"target": target, "provider": provider_message_id, "error": error, "id": message_id},
    )
    subject = row[1:]
    if left_our_hands(current, target):
        _on_timeline(conn, message_id, "message_sent", *subject)
    if target == "undelivered":
        _on_timeline(conn, message_id, "message_undelivered", *subject, error=error)
    return current


def _on_timeline(
    conn: psycopg.Connection[Any],
    message_id: int,
    event_type: str,
    client_id: int | None,
    lead_id: int | None,
    channel: Channel,
    template_key: str,
    recipient: str,
    **extra: Any,
) -> None:
    if client_id is None and lead_id is None:
        return  # sent to an address alone: no one's timeline
    payload = {"message_id": message_id, "template": template_key, "to": recipient, **extra}
    conn.execute(
        """INSERT INTO crm_events (occurred_at, client_id, lead_id, event_type, channel, payload)
           VALUES (now(), %s, %s, %s, %s, %s)""",
        (client_id, lead_id, event_type, channel, Jsonb(payload)),
    )


def _party(
    conn: psycopg.Connection[Any], brand_id: int, client_id: int | None, lead_id: int | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The template variables of the client or lead, and their addresses by channel."""
    context: dict[str, Any] = {}
    addresses: dict[str, str] = {}
    if lead_id is not None:
        lead = conn.execute(
            "SELECT full_name, email, phone FROM leads WHERE id = %s AND brand_id = %s",
            (lead_id, brand_id),
        ).fetchone()
        if lead is None:
            raise MessageRefused(
                "unknown_party", f"no lead {lead_id} in brand {brand_id}", lead_id=lead_id
            )
        full_name, email, phone = lead
        context |= {"name": full_name, "lead": {"id": lead_id, "name": full_name}}
        addresses |= {k: v for k, v in (("email", email), ("sms", phone)) if v}
    if client_id is not None:
        client = conn.execute(
            """SELECT first_name, last_name, email FROM clients
               WHERE id = %s AND brand_id = %s""",
            (client_id, brand_id),
        ).fetchone()
        if client is None:
            raise MessageRefused(
                "unknown_party", f"no client {client_id} in brand {brand_id}", client_id=client_id
            )
        first, last, email = client
        context |= {
            "name": first,
            "client": {"id": client_id, "first_name": first, "last_name": last},
        }
        addresses["email"] = email
    return context, addresses


def _by_key(conn: psycopg.Connection[Any], key: str) -> int | None:
    row = conn.execute("SELECT id FROM messages WHERE idempotency_key = %s", (key,)).fetchone()
    return None if row is None else int(row[0])
