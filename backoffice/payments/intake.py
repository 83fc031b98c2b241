"""Taking in a PSP's webhook: verify its signature on the raw body, keep the raw event in
``webhook_inbox`` (unique per provider and event id) and answer. A delivery that does not
verify — forged, changed, expired, unsigned — is kept in ``webhook_rejections`` with the
reason, and moves nothing. The worker applies stored events later
(:mod:`backoffice.payments.processing`), so the answer is fast and a retry costs one insert.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from backoffice.errors import Refused
from backoffice.payments.providers import Provider
from backoffice.payments.signatures import SignatureRefused


@dataclass(frozen=True, slots=True)
class Received:
    inbox_id: int | None  # None: a duplicate, already stored
    event_id: str
    event_type: str

    @property
    def duplicate(self) -> bool:
        return self.inbox_id is None


@dataclass(frozen=True, slots=True)
class Refusal:
    provider: str
    reason: str
    body: bytes
    signature: str | None


class WebhookRefused(Exception):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


def verify(
    providers: Mapping[str, Provider],
    name: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> tuple[str, str, str | None]:
    """(event id, type, signature) of a delivery that verifies; :class:`WebhookRefused`
    (to be kept with its reason) if it does not; a Refused not_found for an unknown provider."""
    provider = providers.get(name)
    if provider is None:
        raise Refused("not_found", "not_found", f"no PSP {name!r}", {"resource": "provider"})
    header = headers.get(provider.signature_header)
    try:
        provider.verify(body, headers, now)
    except SignatureRefused as exc:
        raise WebhookRefused(Refusal(name, exc.reason, body, header), str(exc)) from None
    try:
        event = json.loads(body)
        return str(event["id"]), str(event["type"]), header
    except (ValueError, KeyError, TypeError):
        raise WebhookRefused(Refusal(name, "not_an_event", body, header),
                             "the signed body is not an event") from None  # fmt: skip


STORE = """INSERT INTO webhook_inbox (provider, event_id, event_type, raw_body, signature)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (provider, event_id) DO NOTHING RETURNING id"""
REFUSE = """INSERT INTO webhook_rejections (provider, reason, raw_body, signature)
            VALUES (%s, %s, %s, %s)"""


async def store(conn: psycopg.AsyncConnection[Any], provider: str, event_id: str,
                event_type: str, body: bytes, signature: str | None) -> Received:  # fmt: skip
    """Keep a verified delivery (autocommit connection: kept once this returns)."""
    cur = await conn.execute(STORE, (provider, event_id, event_type, body, signature))
    row = await cur.fetchone()
    return Received(None if row is None else int(row[0]), event_id, event_type)


async def keep_refusal(conn: psycopg.AsyncConnection[Any], refusal: Refusal) -> None:
    await conn.execute(REFUSE, (refusal.provider, refusal.reason, refusal.body,
                                refusal.signature))  # fmt: skip
