"""The e-wallet's and the crypto gateway's callback signatures, as pure functions (the card's,
Stripe's, are :mod:`signatures`). Both are HMAC-SHA256 under the shared webhook secret, checked
on the raw bytes received in constant time, and refused when signed more than 300 s from our
clock, so an old delivery replayed later fails even with a valid signature.

* E-wallet: ``X-Ewallet-Event-Id``, ``X-Ewallet-Timestamp`` (unix seconds) and
  ``X-Ewallet-Signature: sha256=<hex>``, the HMAC of ``"<event id>.<timestamp>." + body``: the
  id and the time are signed with the body, so neither can be swapped.
* Crypto: ``X-Crypto-Signature: <hex>``, the HMAC of the raw body alone; the time of signing
  is the body's own ``timestamp`` field (read only after the signature matched).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from backoffice.payments.signatures import TOLERANCE_SECONDS, SignatureRefused

EWALLET_SIGNATURE = "X-Ewallet-Signature"
EWALLET_TIMESTAMP = "X-Ewallet-Timestamp"
EWALLET_EVENT_ID = "X-Ewallet-Event-Id"
CRYPTO_SIGNATURE = "X-Crypto-Signature"


def _hmac(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def _matches(wanted: list[str], given: str) -> bool:
    return any(hmac.compare_digest(w.encode(), given.encode("ascii", "replace")) for w in wanted)


def _fresh(timestamp: int, now: float, tolerance: int) -> None:
    if abs(now - timestamp) > tolerance:
        raise SignatureRefused("expired", f"signed {int(now - timestamp)} s from our clock, "
                               f"more than {tolerance} s")  # fmt: skip


def ewallet_signature(secret: str, body: bytes, event_id: str, timestamp: int) -> str:
    return _hmac(secret, f"{event_id}.{timestamp}.".encode() + body)


def ewallet_headers(secret: str, body: bytes, event_id: str, timestamp: int) -> dict[str, str]:
    """The headers the e-wallet sends with a callback."""
    return {
        EWALLET_EVENT_ID: event_id,
        EWALLET_TIMESTAMP: str(timestamp),
        EWALLET_SIGNATURE: f"sha256={ewallet_signature(secret, body, event_id, timestamp)}",
    }


def ewallet_verify(
    secrets: list[str],
    body: bytes,
    headers: Mapping[str, str],
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """The signing time of a callback that verifies under one of ``secrets``."""
    header = headers.get(EWALLET_SIGNATURE)
    if not header:
        raise SignatureRefused("missing", f"no {EWALLET_SIGNATURE} header")
    event_id, stamp = headers.get(EWALLET_EVENT_ID), headers.get(EWALLET_TIMESTAMP)
    scheme, _, given = header.partition("=")
    if scheme != "sha256" or not given or not event_id or not stamp:
        raise SignatureRefused(
            "malformed",
            f"the callback needs {EWALLET_EVENT_ID}, {EWALLET_TIMESTAMP} and "
            f"{EWALLET_SIGNATURE}: sha256=<hex>",
        )
    if not stamp.isdigit() or len(stamp) > 12:
        raise SignatureRefused("malformed", "the signature's time is not a number")
    timestamp = int(stamp)
    wanted = [ewallet_signature(secret, body, event_id, timestamp) for secret in secrets]
    if not _matches(wanted, given):
        raise SignatureRefused("mismatch", "the signature does not match the body")
    _fresh(timestamp, now, tolerance)
    return timestamp


def crypto_signature(secret: str, body: bytes) -> str:
    return _hmac(secret, body)


def crypto_verify(
    secrets: list[str],
    body: bytes,
    header: str | None,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """The signing time (the body's ``timestamp``) of a callback that verifies."""
    if not header:
        raise SignatureRefused("missing", f"no {CRYPTO_SIGNATURE} header")
    if len(header) != 64:
        raise SignatureRefused("malformed", "the signature is not 64 hex digits")
    if not _matches([crypto_signature(secret, body) for secret in secrets], header):
        raise SignatureRefused("mismatch", "the signature does not match the body")
    try:
        timestamp = json.loads(body)["timestamp"]
    except (ValueError, KeyError, TypeError):
        raise SignatureRefused("malformed", "the signed body has no timestamp") from None
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise SignatureRefused("malformed", "the signed body's timestamp is not a number")
    _fresh(timestamp, now, tolerance)
    return timestamp
