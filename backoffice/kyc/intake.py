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


def receive_webhook(
    conn: psycopg.Connection[Any],
    settings: Settings,
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
) -> Received:
    """Verify and store one delivery (in the caller's transaction; commit before answering).

    A digest that does not match the body raises :class:`WebhookRejected` and stores nothing.
    """
    secret = webhook_secret(settings, provider)
    digest = headers.get(signatures.DIGEST_HEADER)
    algorithm = headers.get(signatures.DIGEST_ALG_HEADER)
    if not signatures.payload_signed(secret, body, digest, algorithm):
        raise WebhookRejected("the payload digest does not match the body")
    event_id, event_type = event_identity(body)
    # pipelined: the transaction's BEGIN and the insert go in one round trip
    with conn.pipeline():
        row = conn.execute(
            """INSERT INTO webhook_inbox (provider, event_id, event_type, raw_body, signature)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (provider, event_id) DO NOTHING RETURNING id""",
            (provider, event_id, event_type, body, digest),
        ).fetchone()
    return Received(None if row is None else int(row[0]), event_id, event_type)
