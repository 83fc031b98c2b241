"""What a staff member may do right now: roles, the permissions they grant, the brands, and
whether the session proves a second factor. Read afresh on every request, so a role revoked,
a user disabled or a session ended takes effect at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from backoffice.audit import Actor
from backoffice.scope import BrandScope

ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class StaffAccess:
    staff_user_id: int
    email: str
    roles: frozenset[str]
    permissions: frozenset[str]
    brands: BrandScope
    requires_2fa: bool  # some role of theirs moves money or decides KYC
    mfa: bool  # the session was opened with a TOTP code
    session_id: uuid.UUID | None = None

    @property
    def actor(self) -> Actor:
        return Actor.staff(self.staff_user_id)

    @property
    def needs_second_factor(self) -> bool:
        return self.requires_2fa and not self.mfa


@dataclass(frozen=True, slots=True)
class Grants:
    roles: frozenset[str]
    permissions: frozenset[str]
    brands: BrandScope
    requires_2fa: bool


def grants(conn: psycopg.Connection[Any], staff_user_id: int) -> Grants:
    """The roles, permissions and brands of one staff user (none for an unknown id)."""
    roles = conn.execute(
        """SELECT r.code, r.requires_2fa FROM staff_user_roles ur JOIN roles r ON r.id = ur.role_id
           WHERE ur.staff_user_id = %s""",
        (staff_user_id,),
    ).fetchall()
    permissions = conn.execute(
        """SELECT DISTINCT rp.permission_code FROM staff_user_roles ur
           JOIN role_permissions rp ON rp.role_id = ur.role_id WHERE ur.staff_user_id = %s""",
        (staff_user_id,),
    ).fetchall()
    brand_ids = frozenset(
        int(r[0])
        for r in conn.execute(
            "SELECT brand_id FROM staff_brand_scopes WHERE staff_user_id = %s", (staff_user_id,)
        )
    )
    codes = frozenset(str(r[0]) for r in roles)
    # no brand rows: every brand for an admin, no brand for anyone else
    scope = BrandScope(None if not brand_ids and ADMIN in codes else brand_ids)
    return Grants(
        roles=codes,
        permissions=frozenset(str(r[0]) for r in permissions),
        brands=scope,
        requires_2fa=any(bool(r[1]) for r in roles),
    )


def session_access(
    conn: psycopg.Connection[Any], session_id: uuid.UUID, staff_user_id: int, now: datetime
) -> StaffAccess | None:
    """The access of an open session of an enabled staff user; None if it has ended."""
    row = conn.execute(
        """SELECT u.email, s.mfa FROM staff_sessions s JOIN staff_users u ON u.id = s.staff_user_id
           WHERE s.id = %s AND s.staff_user_id = %s AND s.revoked_at IS NULL
             AND s.expires_at > %s AND u.enabled""",
        (session_id, staff_user_id, now),
    ).fetchone()
    if row is None:
        return None
    held = grants(conn, staff_user_id)
    return StaffAccess(
        staff_user_id=staff_user_id,
        email=str(row[0]),
        roles=held.roles,
        permissions=held.permissions,
        brands=held.brands,
        requires_2fa=held.requires_2fa,
        mfa=bool(row[1]),
        session_id=session_id,
    )


def works_for(conn: psycopg.Connection[Any], staff_user_id: int, brand_id: int) -> bool:
    """Whether an enabled staff member works for the brand (what an owner of one of the
    brand's cases, leads or tasks must: a member of another brand would be handed clients it
    may not see)."""
    enabled = conn.execute(
        "SELECT enabled FROM staff_users WHERE id = %s", (staff_user_id,)
    ).fetchone()
    return bool(enabled and enabled[0]) and grants(conn, staff_user_id).brands.allows(brand_id)
