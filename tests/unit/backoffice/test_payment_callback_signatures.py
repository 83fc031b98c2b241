"""The e-wallet's and the crypto gateway's callback signatures: what verifies and why the rest
does not. Expected signatures are computed here with hmac directly."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from backoffice.payments import callback_signatures as s
from backoffice.payments.signatures import SignatureRefused

SECRET = "shared-secret"
T = 1_765_000_000
BODY = b'{"id":"WH-1","type":"payment.completed"}'


def mac(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def ewallet(event_id: str = "WH-1", t: int = T, signature: str | None = None) -> dict[str, str]:
    given = signature or mac(SECRET, f"{event_id}.{t}.".encode() + BODY)
    return {s.EWALLET_EVENT_ID: event_id, s.EWALLET_TIMESTAMP: str(t),
            s.EWALLET_SIGNATURE: f"sha256={given}"}  # fmt: skip


def test_the_ewallet_signs_the_event_id_the_time_and_the_raw_body() -> None:
    assert s.ewallet_headers(SECRET, BODY, "WH-1", T) == ewallet()
    assert s.ewallet_verify([SECRET], BODY, ewallet(), now=T + 300) == T
    assert s.ewallet_verify(["old", SECRET], BODY, ewallet(), now=T - 300) == T  # rolling


@pytest.mark.parametrize(
    ("body", "headers", "now", "reason"),
    [
        (BODY, {}, T, "missing"),
        (BODY, {**ewallet(), s.EWALLET_SIGNATURE: ""}, T, "missing"),
        (BODY, {**ewallet(), s.EWALLET_SIGNATURE: "sha1=" + "0" * 40}, T, "malformed"),
        (BODY, {k: v for k, v in ewallet().items() if k != s.EWALLET_TIMESTAMP}, T, "malformed"),
        (BODY, {k: v for k, v in ewallet().items() if k != s.EWALLET_EVENT_ID}, T, "malformed"),
        (BODY, {**ewallet(), s.EWALLET_TIMESTAMP: "soon"}, T, "malformed"),
        (BODY, ewallet(signature=mac("forged", f"WH-1.{T}.".encode() + BODY)), T, "mismatch"),
        (BODY.replace(b"WH-1", b"WH-9"), ewallet(), T, "mismatch"),  # the body changed
        (BODY, {**ewallet(), s.EWALLET_EVENT_ID: "WH-2"}, T, "mismatch"),  # another event
        (BODY, {**ewallet(), s.EWALLET_TIMESTAMP: str(T + 60)}, T, "mismatch"),  # time moved
        (BODY, ewallet(signature=mac(SECRET, BODY)), T, "mismatch"),  # the body alone
        (BODY, ewallet(), T + 301, "expired"),
        (BODY, ewallet(), T - 301, "expired"),
    ],
)
def test_an_ewallet_callback_is_refused_with_its_reason(
    body: bytes, headers: dict[str, str], now: int, reason: str
) -> None:
    with pytest.raises(SignatureRefused) as refused:
        s.ewallet_verify([SECRET], body, headers, now=now)
    assert refused.value.reason == reason


def crypto_body(t: object = T) -> bytes:
    return json.dumps({"id": "cb_1", "type": "deposit", "timestamp": t}).encode()


def test_the_crypto_gateway_signs_the_raw_body_and_its_timestamp_field() -> None:
    body = crypto_body()
    assert s.crypto_signature(SECRET, body) == mac(SECRET, body)
    assert s.crypto_verify([SECRET], body, mac(SECRET, body), now=T + 299) == T
    assert s.crypto_verify(["old", SECRET], body, mac(SECRET, body), now=T) == T


@pytest.mark.parametrize(
    ("body", "signature", "now", "reason"),
    [
        (crypto_body(), None, T, "missing"),
        (crypto_body(), "", T, "missing"),
        (crypto_body(), "abc", T, "malformed"),
        (crypto_body(), mac("forged", crypto_body()), T, "mismatch"),
        (crypto_body(T + 1), mac(SECRET, crypto_body()), T, "mismatch"),  # the time changed
        (crypto_body(), mac(SECRET, crypto_body()), T + 301, "expired"),
        (b'{"id":"cb_1"}', mac(SECRET, b'{"id":"cb_1"}'), T, "malformed"),  # no timestamp
        (crypto_body("1"), mac(SECRET, crypto_body("1")), T, "malformed"),
        (b"not json", mac(SECRET, b"not json"), T, "malformed"),
    ],
)
def test_a_crypto_callback_is_refused_with_its_reason(
    body: bytes, signature: str | None, now: int, reason: str
) -> None:
    with pytest.raises(SignatureRefused) as refused:
        s.crypto_verify([SECRET], body, signature, now=now)
    assert refused.value.reason == reason
