"""Single-use tokens mailed to clients (e-mail verification, password reset): random, shown
once in the link, stored as their SHA-256 digest with an expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, Literal

import psycopg

from backoffice.errors import invalid

Purpose = Literal["verify_email", "reset_password"]
TTL: dict[Purpose, timedelta] = {
    "verify_email": timedelta(hours=48),
    "reset_password": timedelta(minutes=30),
}
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{20,100}$"  # noqa: S105 (a format, not a secret)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue(conn: psycopg.Connection[Any], client_id: int, purpose: Purpose) -> str:
    """A new token for the client (earlier unused ones of the same purpose stop working)."""
    conn.execute(
        """UPDATE client_tokens SET used_at = now()
           WHERE client_id = %s AND purpose = %s AND used_at IS NULL""",
        (client_id, purpose),
    )
    token = secrets.token_urlsafe(32)
    conn.execute(
        """INSERT INTO client_tokens (client_id, purpose, token_sha256, expires_at)
           VALUES (%s, %s, %s, now() + %s)""",
        (client_id, purpose, digest(token), TTL[purpose]),
    )
    return token


def consume(conn: psycopg.Connection[Any], purpose: Purpose, token: str) -> int:
    """The client the token is for, marking it used; refused when unknown, used or expired."""
    row = conn.execute(
        """UPDATE client_tokens SET used_at = now()
           WHERE token_sha256 = %s AND purpose = %s AND used_at IS NULL
             AND expires_at > now()
           RETURNING client_id""",
        (digest(token), purpose),
    ).fetchone()
    if row is None:
        raise invalid("token", "unknown, used or expired token")
    return int(row[0])
