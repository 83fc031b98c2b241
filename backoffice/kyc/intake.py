"""Taking in a KYC provider's webhook: check its digest on the raw body, keep the raw event in
``webhook_inbox``, answer. Nothing else happens here — the worker applies it later
(:mod:`backoffice.kyc.processing`), so the answer is fast and a provider retry costs one
insert that finds the event already there.

The event id is the provider's own where its payload carries one, else the SHA-256 of the body:
a retried or replayed delivery is the same bytes, so it is the same event and stored once.
(Sumsub's digest signs no timestamp, so a replay is recognised by its id, not its age.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from backoffice.kyc import signatures
from backoffice.kyc.errors import InvalidEvent, NotFound, WebhookRejected
from brokerstack.settings import Settings

# provider name in the URL -> how its webhooks are signed (the only shape so far: Sumsub's)
PROVIDERS = ("sumsub",)


@dataclass(frozen=True, slots=True)
class Received:
    inbox_id: int | None  # None: a duplicate, already stored
    event_id: str
    event_type: str

    @property
    def duplicate(self) -> bool:
        return self.inbox_id is None


def webhook_secret(settings: Settings, provider: str) -> str:
    if provider not in PROVIDERS:
        raise NotFound(f"no KYC provider {provider!r}", provider=provider)
    return settings.backoffice.kyc_webhook_secret.get_secret_value()


def event_identity(body: bytes) -> tuple[str, str]:
    """(event id, type) of a verified body; refuses a body that is no event."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise InvalidEvent("the webhook body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise InvalidEvent("the webhook body has no event type")
    own = payload.get("id") or payload.get("eventId")
    event_id = str(own) if own else hashlib.sha256(body).hexdigest()
    return event_id, payload["type"]


@dataclass(frozen=True, slots=True)
class Verified:
    """A delivery whose digest matched its body: what the inbox keeps of it."""

    provider: str
    event_id: str
    event_type: str
    body: bytes
    digest: str | None

    @property
    def row(self) -> tuple[str, str, str, bytes, str | None]:
        return (self.provider, self.event_id, self.event_type, self.body, self.digest)


# one statement, so it is its own transaction on an autocommit connection
STORE = """INSERT INTO webhook_inbox (provider, event_id, event_type, raw_body, signature)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (provider, event_id) DO NOTHING RETURNING id"""


def verify_webhook(
    settings: Settings, provider: str, body: bytes, headers: Mapping[str, str]
) -> Verified:
    """The delivery if its digest matches the body; :class:`WebhookRejected` if not,
    :class:`InvalidEvent` for a signed body that is no event, :class:`NotFound` for an
    unknown provider."""
    secret = webhook_secret(settings, provider)
    digest = headers.get(signatures.DIGEST_HEADER)
    algorithm = headers.get(signatures.DIGEST_ALG_HEADER)
    if not signatures.payload_signed(secret, body, digest, algorithm):
        raise WebhookRejected("the payload digest does not match the body")
    event_id, event_type = event_identity(body)
    return Verified(provider, event_id, event_type, body, digest)


def _received(event: Verified, row: tuple[Any, ...] | None) -> Received:
    return Received(None if row is None else int(row[0]), event.event_id, event.event_type)


async def store_webhook(conn: psycopg.AsyncConnection[Any], event: Verified) -> Received:
    """Store a verified delivery on an autocommit connection: kept once this returns."""
    return _received(event, await (await conn.execute(STORE, event.row)).fetchone())
