"""A new client registers with a brand: the brand's country rules, one client per address and
brand, the e-mail verification link, the matching lead converted and the first AML screening,
all in the caller's transaction (a refusal leaves nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from backoffice import audit
from backoffice.aml.screening import screen_client
from backoffice.audit import Actor
from backoffice.brands import brand_rules
from backoffice.clients import tokens
from backoffice.clients.forms import Registration
from backoffice.comms.errors import MessageRefused
from backoffice.comms.outbox import enqueue
from backoffice.crm.errors import CrmError
from backoffice.crm.leads import convert_matching_lead
from backoffice.errors import Refused, invalid, not_found
from backoffice.passwords import hash_password
from brokerstack.settings import Settings

MIN_AGE = 18
MAX_AGE = 120


@dataclass(frozen=True, slots=True)
class Registered:
    client_id: int
    brand_id: int
    lead_id: int | None  # the lead converted, if one matched
    screening: str  # the first screening's outcome: clear, possible_match or hit


def split_name(full_name: str) -> tuple[str, str]:
    first, _, last = " ".join(full_name.split()).partition(" ")
    return first, last


def check_birth_date(conn: psycopg.Connection[Any], birth_date: date) -> None:
    today: date = conn.execute("SELECT current_date").fetchone()[0]  # type: ignore[index]
    years = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    if years < MIN_AGE:
        raise invalid("birth_date", f"clients are at least {MIN_AGE} years old")
    if years > MAX_AGE:
        raise invalid("birth_date", "not a plausible birth date")


def brand_by_code(conn: psycopg.Connection[Any], code: str) -> int:
    row = conn.execute("SELECT id FROM brands WHERE code = %s", (code,)).fetchone()
    if row is None:
        raise invalid("brand", f"no brand {code!r}")
    return int(row[0])


def public_url(settings: Settings) -> str:
    """Where clients' links point: the configured address, else this stack's api."""
    configured = settings.backoffice.public_url.rstrip("/")
    return configured or f"http://{settings.host}:{settings.api_port}"


def verification_link(settings: Settings, token: str) -> str:
    # the api's GET confirms it, so the link works before any portal page exists
    return f"{public_url(settings)}/v1/portal/verify-email?token={token}"


def reset_link(settings: Settings, token: str) -> str:
    # the token goes to POST /v1/portal/password-reset/confirm with the new password
    return f"{public_url(settings)}/reset-password?token={token}"


def send_verification(conn: psycopg.Connection[Any], settings: Settings, client_id: int) -> int:
    """Mail a fresh verification link (the previous one stops working); the message id."""
    row = conn.execute(
        "SELECT brand_id, email, language FROM clients WHERE id = %s", (client_id,)
    ).fetchone()
    if row is None:
        raise not_found("client", client_id)
    brand_id, email, language = int(row[0]), str(row[1]), row[2]
    token = tokens.issue(conn, client_id, "verify_email")
    hours = int(tokens.TTL["verify_email"].total_seconds() // 3600)
    try:
        return enqueue(
            conn, brand_id=brand_id, template="verification", language=language,
            channel="email", client_id=client_id, to=email,
            context={"link": verification_link(settings, token), "valid_hours": hours},
            idempotency_key=f"verify_email:{tokens.digest(token).hex()}",
        )  # fmt: skip
    except MessageRefused as exc:
        raise invalid("email", exc.message) from exc


def register(conn: psycopg.Connection[Any], settings: Settings, form: Registration) -> Registered:
    brand_id = brand_by_code(conn, form.brand)
    rules = brand_rules(conn, brand_id)
    if not rules.country_allowed(form.country):
        raise invalid("country", f"{rules.code} does not take clients from {form.country}")
    check_birth_date(conn, form.birth_date)
    if conn.execute(
        "SELECT 1 FROM clients WHERE brand_id = %s AND lower(email) = lower(%s)",
        (brand_id, form.email),
    ).fetchone():
        raise email_taken()
    first, last = split_name(form.full_name)
    try:
        with conn.transaction():
            row = conn.execute(
                """INSERT INTO clients (brand_id, email, first_name, last_name, birth_date,
                                        country, language, password_hash)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (brand_id, form.email, first, last, form.birth_date, form.country,
                 form.language, hash_password(form.password)),
            ).fetchone()  # fmt: skip
    except psycopg.errors.UniqueViolation:
        raise email_taken() from None  # registered by a concurrent request
    assert row is not None
    client_id = int(row[0])
    actor = Actor.client(client_id)
    audit.record(conn, actor, "client.registered", "client", client_id, None,
                 {"brand_id": brand_id, "email": form.email, "country": form.country,
                  "language": form.language})  # fmt: skip
    send_verification(conn, settings, client_id)
    try:
        with conn.transaction():
            lead_id = convert_matching_lead(conn, client_id)
    except CrmError:
        lead_id = None  # a lead the rules keep where it is stays unconverted
    screening = screen_client(conn, client_id, "registration")
    return Registered(client_id, brand_id, lead_id, screening.outcome)


def email_taken() -> Refused:
    return Refused(
        "conflict",
        "email_taken",
        "this e-mail address is already registered with the brand: log in, or reset the password",
        {"field": "email", "source": "backoffice"},
    )
