"""Staff logins: password, then the TOTP code once enrolled, into a session row that every
request checks (ending the row ends the session at once), and enrolment of the second factor.

``login`` answers a refusal instead of raising it: the failure it counts for throttling must
be committed by the caller even though the login is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from backoffice.audit import Actor, record
from backoffice.errors import Refused
from backoffice.passwords import verify_password
from backoffice.staff import throttle, totp


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session_id: uuid.UUID
    staff_user_id: int
    mfa: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LoginRefused:
    code: str  # invalid_credentials, totp_required, totp_replayed, rate_limited
    message: str
    retry_after: int = 0


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str
    provisioning_uri: str


def login(
    conn: psycopg.Connection[Any],
    email: str,
    password: str,
    code: str | None,
    ip: str,
    session_length: timedelta,
    now: datetime | None = None,
) -> OpenedSession | LoginRefused:
    now = now or datetime.now(UTC)
    wait = throttle.retry_after(conn, email, ip, now)
    if wait:
        return LoginRefused("rate_limited", f"too many failed logins; retry after {wait} s", wait)
    row = conn.execute(
        """SELECT u.id, u.password_hash, t.secret
           FROM staff_users u LEFT JOIN staff_totp t
             ON t.staff_user_id = u.id AND t.confirmed_at IS NOT NULL
           WHERE lower(u.email) = lower(%s) AND u.enabled""",
        (email,),
    ).fetchone()
    if not verify_password(password, None if row is None else row[1]) or row is None:
        throttle.record_failure(conn, email, ip, now)
        return LoginRefused("invalid_credentials", "wrong e-mail or password")
    staff_user_id, secret = int(row[0]), row[2]
    mfa = False
    if secret is not None:
        if not code:
            return LoginRefused("totp_required", "this account needs its TOTP code")
        step = totp.matching_step(secret, code, now)
        if step is None:
            throttle.record_failure(conn, email, ip, now)
            return LoginRefused("invalid_credentials", "wrong TOTP code")
        if not _spend(conn, staff_user_id, step):
            throttle.record_failure(conn, email, ip, now)
            return LoginRefused(
                "totp_replayed", "that TOTP code was already used; wait for the next"
            )
        mfa = True
    throttle.clear(conn, email)
    session_id = uuid.uuid4()
    expires = now + session_length
    conn.execute(
        """INSERT INTO staff_sessions (id, staff_user_id, mfa, ip, created_at, expires_at)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (session_id, staff_user_id, mfa, ip, now, expires),
    )
    record(conn, Actor.staff(staff_user_id), "staff.login", "staff_user", staff_user_id, None,
           {"session_id": str(session_id), "mfa": mfa, "ip": ip})  # fmt: skip
    return OpenedSession(session_id, staff_user_id, mfa, expires)


def _spend(conn: psycopg.Connection[Any], staff_user_id: int, step: int) -> bool:
    """Mark the step used; False if it (or a later one) already was. One statement, so two
    logins racing with the same code cannot both win."""
    cur = conn.execute(
        "UPDATE staff_totp SET last_used_step = %s "
        "WHERE staff_user_id = %s AND last_used_step < %s",
        (step, staff_user_id, step),
    )
    return cur.rowcount == 1


def logout(conn: psycopg.Connection[Any], session_id: uuid.UUID, staff_user_id: int) -> None:
    cur = conn.execute(
        "UPDATE staff_sessions SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
        (session_id,),
    )
    if cur.rowcount:
        record(conn, Actor.staff(staff_user_id), "staff.logout", "staff_user", staff_user_id,
               {"session_id": str(session_id)}, None)  # fmt: skip


def revoke_sessions(conn: psycopg.Connection[Any], staff_user_id: int) -> int:
    """End every open session of a staff user (when disabled); how many were open."""
    cur = conn.execute(
        "UPDATE staff_sessions SET revoked_at = now() "
        "WHERE staff_user_id = %s AND revoked_at IS NULL",
        (staff_user_id,),
    )
    return cur.rowcount


def begin_totp(conn: psycopg.Connection[Any], staff_user_id: int) -> TotpEnrolment:
    """A new secret awaiting confirmation (replacing an unconfirmed one). A confirmed factor
    is not replaced here: that would let a stolen password swap the second factor."""
    row = conn.execute(
        """SELECT u.email, t.confirmed_at FROM staff_users u
           LEFT JOIN staff_totp t ON t.staff_user_id = u.id WHERE u.id = %s""",
        (staff_user_id,),
    ).fetchone()
    if row is None:
        raise Refused("not_found", "not_found", f"staff user {staff_user_id} not found")
    if row[1] is not None:
        raise Refused("conflict", "totp_enrolled", "a TOTP factor is already confirmed")
    secret = totp.new_secret()
    conn.execute(
        """INSERT INTO staff_totp (staff_user_id, secret) VALUES (%s, %s)
           ON CONFLICT (staff_user_id) DO UPDATE SET secret = EXCLUDED.secret,
               last_used_step = 0, created_at = now()""",
        (staff_user_id, secret),
    )
    record(conn, Actor.staff(staff_user_id), "staff.totp_enrol", "staff_user", staff_user_id)
    return TotpEnrolment(secret, totp.provisioning_uri(secret, str(row[0])))


def confirm_totp(
    conn: psycopg.Connection[Any], staff_user_id: int, code: str, now: datetime | None = None
) -> None:
    """Confirm the pending secret with a code from the app; from the next login on, the code
    is required (and proves the second factor)."""
    now = now or datetime.now(UTC)
    row = conn.execute(
        "SELECT secret, confirmed_at FROM staff_totp WHERE staff_user_id = %s FOR UPDATE",
        (staff_user_id,),
    ).fetchone()
    if row is None or row[1] is not None:
        raise Refused("conflict", "no_pending_totp", "no TOTP enrolment is waiting for a code")
    step = totp.matching_step(str(row[0]), code, now)
    if step is None:
        raise Refused("invalid", "invalid_totp", "wrong TOTP code")
    conn.execute(
        "UPDATE staff_totp SET confirmed_at = %s, last_used_step = %s WHERE staff_user_id = %s",
        (now, step, staff_user_id),
    )
    record(conn, Actor.staff(staff_user_id), "staff.totp_confirm", "staff_user", staff_user_id,
           None, {"totp": "confirmed"})  # fmt: skip


def current_session(conn: psycopg.Connection[Any], session_id: uuid.UUID) -> OpenedSession | None:
    """The session if still open (for a fresh token within it)."""
    row = conn.execute(
        """SELECT s.staff_user_id, s.mfa, s.expires_at FROM staff_sessions s
           JOIN staff_users u ON u.id = s.staff_user_id
           WHERE s.id = %s AND s.revoked_at IS NULL AND s.expires_at > now() AND u.enabled""",
        (session_id,),
    ).fetchone()
    return None if row is None else OpenedSession(session_id, int(row[0]), bool(row[1]), row[2])
