"""Stripe-style webhook signatures: what verifies and why the rest does not. The expected
signature is computed here with hmac directly, over ``"<t>." + body``."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from backoffice.payments import signatures as s

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'
T = 1_765_000_000


def expected(secret: str, body: bytes, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_the_header_is_t_and_v1_over_the_time_and_raw_body() -> None:
    assert s.sign(SECRET, BODY, T) == f"t={T},v1={expected(SECRET, BODY, T)}"
    assert s.verify([SECRET], BODY, s.sign(SECRET, BODY, T), now=T + 299) == T
    # while a secret is rolled: any v1 under any of our secrets
    header = f"t={T},v1={'0' * 64},v1={expected('old', BODY, T)}"
    assert s.verify([SECRET, "old"], BODY, header, now=T) == T


@pytest.mark.parametrize(
    ("body", "header", "now", "reason"),
    [
        (BODY, None, T, "missing"),
        (BODY, "", T, "missing"),
        (BODY, f"v1={expected(SECRET, BODY, T)}", T, "malformed"),
        (BODY, f"t={T}", T, "malformed"),
        (BODY, f"t=abc,v1={expected(SECRET, BODY, T)}", T, "malformed"),
        (BODY, s.sign("forged", BODY, T), T, "mismatch"),
        (BODY.replace(b"evt_1", b"evt_2"), s.sign(SECRET, BODY, T), T, "mismatch"),
        (BODY, f"t={T + 1},v1={expected(SECRET, BODY, T)}", T, "mismatch"),  # time changed
        (BODY, s.sign(SECRET, BODY, T), T + 301, "expired"),  # replayed later
        (BODY, s.sign(SECRET, BODY, T + 301), T, "expired"),  # from the future
        (BODY, f"t={T},v1=é", T, "mismatch"),
    ],
)
def test_what_does_not_verify_says_why(body: bytes, header: str | None, now: int,
                                       reason: str) -> None:  # fmt: skip
    with pytest.raises(s.SignatureRefused) as refused:
        s.verify([SECRET], body, header, now=now)
    assert refused.value.reason == reason
