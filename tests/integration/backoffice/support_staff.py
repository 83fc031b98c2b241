"""Brands, clients and staff members for the staff-access tests, made the way the back office
makes them, and the api with staff logged in."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from backoffice.staff import sessions, totp
from backoffice.staff.users import create_staff
from brokerstack.settings import Settings
from tests.integration.api.conftest import make_settings

PASSWORD = "staff password of some length"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Member:
    id: int
    email: str
    secret: str | None  # the confirmed TOTP secret, if enrolled
    password: str = PASSWORD


def add_brand(db_url: str, code: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO brands (code, name) VALUES (%s, %s) RETURNING id", (code, code.title())
        ).fetchone()
    assert row is not None
    return int(row[0])


def brand_id(db_url: str, code: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id FROM brands WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def add_client(db_url: str, brand: int, email: str, country: str = "DE") -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """INSERT INTO clients (brand_id, email, first_name, last_name, country)
               VALUES (%s, %s, 'Test', 'Client', %s) RETURNING id""",
            (brand, email, country),
        ).fetchone()
    assert row is not None
    return int(row[0])


def add_member(
    db_url: str, roles: list[str], brands: list[int] | None, enrol: bool = True
) -> Member:
    """A staff member; with ``enrol``, a TOTP factor confirmed a minute ago (so the code of
    the current time step is still unused)."""
    email = f"staff{next(_numbers)}@brokerstack.test"
    with psycopg.connect(db_url) as conn:
        user = create_staff(conn, None, email, "Staff Member", PASSWORD, roles, brands)
        secret = None
        if enrol:
            secret = sessions.begin_totp(conn, user.id).secret
            earlier = datetime.now(UTC) - timedelta(seconds=60)
            sessions.confirm_totp(conn, user.id, totp.code_at(secret, earlier), earlier)
    return Member(user.id, email, secret)


def current_code(member: Member) -> str:
    assert member.secret is not None
    return totp.code_at(member.secret, datetime.now(UTC))


def next_code(member: Member) -> str:
    """The code of the next time step (accepted within the drift; the current one may be
    spent already)."""
    assert member.secret is not None
    return totp.code_at(member.secret, datetime.now(UTC) + timedelta(seconds=30))


def login(api: TestClient, member: Member, code: str | None = None) -> dict[str, str]:
    """Bearer headers of a session opened with the member's current TOTP code (if enrolled)."""
    body = {"email": member.email, "password": member.password}
    if code or member.secret:
        body["totp"] = code or current_code(member)
    response = api.post("/v1/admin/auth/token", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def staff_settings(db_url: str, redis_url: str, folder: Path) -> Settings:
    return make_settings(db_url, redis_url, folder)


@contextmanager
def staff_api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client
