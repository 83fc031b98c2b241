"""Login throttling: failed staff logins counted per e-mail and per address over a window.

Failures are rows (``staff_login_failures``), so every api process sees the same count and a
restart forgets nothing. Once a key has its limit of failures in the window, logins for it
are refused — before the password is even checked, so the refusal reveals nothing — until the
oldest failure that keeps it at the limit leaves the window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

WINDOW = timedelta(minutes=15)
PER_EMAIL = 5
PER_ADDRESS = 20


def wait_seconds(
    failures: Sequence[datetime], limit: int, now: datetime, window: timedelta = WINDOW
) -> int:
    """Seconds until a key with these failure times is below ``limit`` within the window
    (0: it may try now)."""
    recent = sorted((t for t in failures if t > now - window), reverse=True)
    if len(recent) < limit:
        return 0
    # the limit-th newest failure is the one whose expiry brings the count under the limit
    return max(1, math.ceil((recent[limit - 1] + window - now).total_seconds()))


def retry_after(conn: psycopg.Connection[Any], email: str, ip: str, now: datetime) -> int:
    """0 if a login for this e-mail from this address may be tried, else seconds to wait."""
    waits = [0]
    for column, key, limit in (("email", email.lower(), PER_EMAIL), ("ip", ip, PER_ADDRESS)):
        rows = conn.execute(
            f"SELECT failed_at FROM staff_login_failures WHERE {column} = %s AND failed_at > %s"
            " ORDER BY failed_at DESC LIMIT %s",
            (key, now - WINDOW, limit),
        ).fetchall()
        waits.append(wait_seconds([r[0] for r in rows], limit, now))
    return max(waits)


def record_failure(conn: psycopg.Connection[Any], email: str, ip: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO staff_login_failures (email, ip, failed_at) VALUES (%s, %s, %s)",
        (email.lower()[:320], ip, now),
    )
    # failures older than the window count for nothing: keep the table small as it goes
    conn.execute("DELETE FROM staff_login_failures WHERE failed_at < %s", (now - 2 * WINDOW,))


def clear(conn: psycopg.Connection[Any], email: str) -> None:
    """A successful login forgives that e-mail's failures (not the address's)."""
    conn.execute("DELETE FROM staff_login_failures WHERE email = %s", (email.lower(),))
