"""The SMS provider's status callbacks: verified, then applied forward-only.

A callback is genuine when its ``X-Twilio-Signature`` matches the URL we gave as StatusCallback
(with its query) and the form it carries; anything else is refused before it is read. A
genuine one moves its message forward (sent -> delivered or undelivered); a late, repeated or
out-of-order one (``sent`` after ``delivered``) changes nothing and is answered all the same,
so the provider does not retry it.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import psycopg

from backoffice.comms.outbox import advance
from backoffice.comms.rules import PROVIDER_STATUS
from backoffice.comms.sms import twilio_signature

Outcome = Literal["applied", "unchanged", "unknown_message"]


class ForgedCallback(ValueError):
    """The signature is missing or does not match: not from our provider."""


def record_status(
    conn: psycopg.Connection[Any],
    *,
    url: str,
    params: Sequence[tuple[str, str]],
    signature: str | None,
    auth_token: str,
) -> Outcome:
    """Apply one status callback received at ``url`` (the full URL the provider called)."""
    expected = twilio_signature(url, params, auth_token)
    if not signature or not hmac.compare_digest(expected, signature):
        raise ForgedCallback("X-Twilio-Signature does not match the callback")
    form = dict(params)
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    target = PROVIDER_STATUS.get(status)
    message_id = _message_id(conn, url, sid)
    if message_id is None:
        return "unknown_message"
    if target is None:
        return "unchanged"
    error = None
    if form.get("ErrorCode"):
        error = f"provider error {form['ErrorCode']}: {status}"
    moved = advance(conn, message_id, target, provider_message_id=sid or None, error=error)
    return "unchanged" if moved is None else "applied"


def _message_id(conn: psycopg.Connection[Any], url: str, sid: str) -> int | None:
    """Ours by the id in the callback URL (signed, so trusted), else by the provider's sid."""
    ids = parse_qs(urlsplit(url).query).get("message", [])
    if ids and ids[-1].isdigit() and len(ids[-1]) < 19:
        row = conn.execute(
            """SELECT id FROM messages WHERE id = %s AND channel = 'sms'
               AND (provider_message_id IS NULL OR provider_message_id = %s)""",
            (int(ids[-1]), sid),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM messages WHERE channel = 'sms' AND provider_message_id = %s", (sid,)
        ).fetchone()
    return None if row is None else int(row[0])
