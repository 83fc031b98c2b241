"""The client's own profile and credentials: confirming the e-mail address, reading and
changing the profile (a new name or birth date is screened again at once), changing the
password (every refresh token of the client ends with it) and resetting a forgotten one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from backoffice import audit
from backoffice.aml.screening import screen_client
from backoffice.audit import Actor
from backoffice.clients import tokens
from backoffice.clients.forms import PasswordChange, ProfileChange, ResetConfirm, ResetRequest
from backoffice.clients.registration import (
    brand_by_code,
    check_birth_date,
    reset_link,
    split_name,
)
from backoffice.comms.errors import MessageRefused
from backoffice.comms.outbox import enqueue
from backoffice.errors import Refused, invalid, not_found
from backoffice.passwords import hash_password, verify_password
from brokerstack.settings import Settings


@dataclass(frozen=True, slots=True)
class Profile:
    client_id: int
    brand_id: int
    email: str
    email_verified: bool
    first_name: str
    last_name: str
    birth_date: date | None
    country: str
    language: str | None
    kyc_level: int
    status: str
    created_at: datetime


def profile(conn: psycopg.Connection[Any], client_id: int, lock: bool = False) -> Profile:
    with conn.cursor(row_factory=class_row(Profile)) as cur:
        found = cur.execute(
            """SELECT id AS client_id, brand_id, email,
                      email_verified_at IS NOT NULL AS email_verified, first_name, last_name,
                      birth_date, country, language, kyc_level, status, created_at
               FROM clients WHERE id = %s"""
            + (" FOR UPDATE" if lock else ""),
            (client_id,),
        ).fetchone()
    if found is None:
        raise not_found("client", client_id)
    return found


def _view(found: Profile) -> dict[str, Any]:
    keep = ("first_name", "last_name", "birth_date", "language")
    return {k: v for k, v in asdict(found).items() if k in keep}


def verify_email(conn: psycopg.Connection[Any], token: str) -> Profile:
    client_id = tokens.consume(conn, "verify_email", token)
    conn.execute(
        """UPDATE clients SET email_verified_at = coalesce(email_verified_at, now()),
                              updated_at = now() WHERE id = %s""",
        (client_id,),
    )
    audit.record(conn, Actor.client(client_id), "client.email_verified", "client", client_id)
    return profile(conn, client_id)


def update_profile(conn: psycopg.Connection[Any], client_id: int, change: ProfileChange) -> Profile:
    before = profile(conn, client_id, lock=True)
    first, last = (
        split_name(change.full_name)
        if change.full_name is not None
        else (before.first_name, before.last_name)
    )
    birth_date = change.birth_date if change.birth_date is not None else before.birth_date
    if change.birth_date is not None:
        check_birth_date(conn, change.birth_date)
    language = change.language if change.language is not None else before.language
    conn.execute(
        """UPDATE clients SET first_name = %s, last_name = %s, birth_date = %s, language = %s,
                              updated_at = now() WHERE id = %s""",
        (first, last, birth_date, language, client_id),
    )
    after = profile(conn, client_id)
    if _view(after) == _view(before):
        return after
    audit.record(conn, Actor.client(client_id), "client.profile_changed", "client", client_id,
                 _view(before), _view(after))  # fmt: skip
    if (first, last, birth_date) != (before.first_name, before.last_name, before.birth_date):
        screen_client(conn, client_id, "profile_change")  # AML: a new identity is screened
        after = profile(conn, client_id)  # a sanctions hit suspends the client
    return after


def _set_password(conn: psycopg.Connection[Any], client_id: int, password: str, why: str) -> int:
    """Set it and end every refresh token of the client; how many ended."""
    conn.execute(
        "UPDATE clients SET password_hash = %s, updated_at = now() WHERE id = %s",
        (hash_password(password), client_id),
    )
    ended = conn.execute(
        """UPDATE api_refresh_tokens SET revoked_at = now()
           WHERE client_id = %s AND revoked_at IS NULL""",
        (client_id,),
    ).rowcount
    audit.record(conn, Actor.client(client_id), f"client.password_{why}", "client", client_id,
                 None, {"refresh_tokens_revoked": ended})  # fmt: skip
    return ended


def change_password(conn: psycopg.Connection[Any], client_id: int, change: PasswordChange) -> int:
    row = conn.execute(
        "SELECT password_hash FROM clients WHERE id = %s FOR UPDATE", (client_id,)
    ).fetchone()
    if row is None:
        raise not_found("client", client_id)
    if not verify_password(change.current_password, row[0]):
        raise invalid("current_password", "not your current password")
    if change.new_password == change.current_password:
        raise invalid("new_password", "choose a password other than the current one")
    return _set_password(conn, client_id, change.new_password, "changed")


def request_reset(conn: psycopg.Connection[Any], settings: Settings, form: ResetRequest) -> None:
    """Mail a reset link if the brand has a client with this address; silent otherwise (the
    answer never tells whether an address is registered)."""
    try:
        brand_id = brand_by_code(conn, form.brand)
    except Refused:
        return
    row = conn.execute(
        """SELECT id, email, language FROM clients
           WHERE brand_id = %s AND lower(email) = lower(%s) AND status = 'active'""",
        (brand_id, form.email),
    ).fetchone()
    if row is None:
        return
    client_id, email, language = row
    token = tokens.issue(conn, client_id, "reset_password")
    minutes = int(tokens.TTL["reset_password"].total_seconds() // 60)
    try:
        with conn.transaction():
            enqueue(
                conn, brand_id=brand_id, template="password_reset", language=language,
                channel="email", client_id=client_id, to=email,
                context={"link": reset_link(settings, token), "valid_minutes": minutes},
                idempotency_key=f"reset_password:{tokens.digest(token).hex()}",
            )  # fmt: skip
    except MessageRefused:
        return
    audit.record(conn, Actor.client(client_id), "client.password_reset_requested", "client",
                 client_id)  # fmt: skip


def confirm_reset(conn: psycopg.Connection[Any], form: ResetConfirm) -> int:
    """Set the new password; how many refresh tokens ended with the old one."""
    client_id = tokens.consume(conn, "reset_password", form.token)
    return _set_password(conn, client_id, form.new_password, "reset")
