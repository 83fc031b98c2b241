"""Stripe-style webhook signatures, as pure functions.

The header ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` carries the time of
signing and one or more HMAC-SHA256 signatures (hex) of ``"<t>." + raw body`` under the
endpoint's secret (several while a secret is being rolled). A delivery verifies when one of its
``v1`` values matches the raw bytes received (never a re-serialised parse; compared in constant
time) and its time is within the tolerance of our clock: an old delivery replayed later fails,
even with a valid signature.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300

Reason = Literal["missing", "malformed", "mismatch", "expired"]


class SignatureRefused(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``v1`` value: HMAC-SHA256 (hex) of ``"<timestamp>." + body``."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body,
                    hashlib.sha256).hexdigest()  # fmt: skip


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The whole header value a provider sends."""
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def verify(
    secrets: list[str],
    body: bytes,
    header: str | None,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """The signing time of a delivery that verifies under one of ``secrets``; raises
    :class:`SignatureRefused` naming why it does not."""
    if not header:
        raise SignatureRefused("missing", f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            if not value.isdigit() or len(value) > 12:
                raise SignatureRefused("malformed", "the signature's time is not a number")
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureRefused("malformed", "the signature needs t= and v1=")
    wanted = [signature(secret, body, timestamp).encode() for secret in secrets]
    if not any(
        hmac.compare_digest(expected, given.encode("ascii", "replace"))
        for expected in wanted
        for given in candidates
    ):
        raise SignatureRefused("mismatch", "the signature does not match the body")
    if abs(now - timestamp) > tolerance:
        raise SignatureRefused("expired", f"signed {int(now - timestamp)} s from our clock, "
                               f"more than {tolerance} s")  # fmt: skip
    return timestamp
