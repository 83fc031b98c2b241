"""The two signatures of a Sumsub-shaped provider, as pure functions.

- Requests we send: ``X-App-Access-Sig`` is HMAC-SHA256 (hex) over the timestamp, the method,
  the path with its query, and the body bytes, keyed by the app's secret key; the provider
  refuses a timestamp too far from its clock.
- Webhooks it sends: ``X-Payload-Digest`` is an HMAC (hex) of the raw body keyed by the webhook
  secret, the algorithm named in ``X-Payload-Digest-Alg``. Checked on the bytes received, never
  on a re-serialised parse, and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

APP_TOKEN_HEADER = "X-App-Token"  # noqa: S105 (a header's name)
TIMESTAMP_HEADER = "X-App-Access-Ts"
SIGNATURE_HEADER = "X-App-Access-Sig"
DIGEST_HEADER = "X-Payload-Digest"
DIGEST_ALG_HEADER = "X-Payload-Digest-Alg"

# The algorithms the provider may name for a webhook digest (Sumsub's set).
DIGEST_ALGORITHMS = {
    "HMAC_SHA1_HEX": hashlib.sha1,
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
}
DEFAULT_DIGEST_ALG = "HMAC_SHA256_HEX"
# How far a request's timestamp may be from the receiver's clock.
MAX_CLOCK_SKEW_SECONDS = 300


def request_signature(secret_key: str, ts: int, method: str, path: str, body: bytes) -> str:
    """``X-App-Access-Sig`` of a request to ``path`` (with its query string)."""
    message = str(ts).encode() + method.upper().encode() + path.encode() + body
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def request_signed(
    secret_key: str, ts: int, method: str, path: str, body: bytes, signature: str
) -> bool:
    expected = request_signature(secret_key, ts, method, path, body)
    return hmac.compare_digest(expected.encode(), _bytes(signature))


def payload_digest(secret: str, body: bytes, algorithm: str = DEFAULT_DIGEST_ALG) -> str:
    """``X-Payload-Digest`` of a webhook body."""
    return hmac.new(secret.encode(), body, DIGEST_ALGORITHMS[algorithm]).hexdigest()


def payload_signed(secret: str, body: bytes, digest: str | None, algorithm: str | None) -> bool:
    """Whether ``digest`` is the body's HMAC under ``secret`` (an unknown algorithm is not)."""
    algorithm = algorithm or DEFAULT_DIGEST_ALG
    if digest is None or algorithm not in DIGEST_ALGORITHMS:
        return False
    return hmac.compare_digest(payload_digest(secret, body, algorithm).encode(), _bytes(digest))


def _bytes(hex_text: str) -> bytes:
    # compare_digest refuses non-ASCII text: a header may hold anything
    return hex_text.strip().lower().encode(errors="replace")
