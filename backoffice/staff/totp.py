"""The staff second factor: RFC 6238 time-based codes (pyotp), each accepted once.

A code is checked against the current 30-second step and one step either side (clocks drift);
the step it matched is returned so the caller can refuse any code of that step or an earlier
one afterwards — a code seen over a shoulder or in a log cannot be replayed.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

ISSUER = "brokerstack"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within the drift allowed; None if none is."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


def code_at(secret: str, when: datetime) -> str:
    """The code an authenticator shows at ``when`` (for the command line and tests)."""
    return pyotp.TOTP(secret).at(when)
