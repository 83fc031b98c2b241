"""Staff users as admins manage them: create, disable, grant and revoke roles, set brands —
each audited with before and after, each within the acting member's own brands and powers.

``acting`` is the staff member's access, or None for the operator at the command line (who
holds the database and so everything). The rules that keep delegation from escalating:
a member acts only on colleagues wholly within their brands, grants only roles whose every
permission they hold themselves, and only an every-brand member makes someone every-brand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from backoffice.audit import Actor, record
from backoffice.errors import Refused, forbidden, invalid, not_found
from backoffice.passwords import hash_password
from backoffice.scope import BrandScope
from backoffice.staff.access import ADMIN, StaffAccess, grants
from backoffice.staff.sessions import TotpEnrolment, begin_totp, revoke_sessions

OPERATOR = Actor.system("command-line")


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    email: str
    display_name: str
    enabled: bool
    roles: list[str]
    brand_ids: list[int] | None  # None: every brand
    requires_2fa: bool
    totp_enrolled: bool
    created_at: datetime


def _actor(acting: StaffAccess | None) -> Actor:
    return OPERATOR if acting is None else acting.actor


def _scope(acting: StaffAccess | None) -> BrandScope:
    return BrandScope.every_brand() if acting is None else acting.brands


def list_staff(conn: psycopg.Connection[Any], scope: BrandScope) -> list[StaffUser]:
    """The staff users wholly within ``scope`` (an every-brand viewer sees them all)."""
    ids = [int(r[0]) for r in conn.execute("SELECT id FROM staff_users ORDER BY id")]
    found = (_load(conn, i) for i in ids)
    return [u for u in found if u is not None and scope.covers(_brands_of(u))]


def get_staff(conn: psycopg.Connection[Any], scope: BrandScope, staff_user_id: int) -> StaffUser:
    user = _load(conn, staff_user_id)
    if user is None or not scope.covers(_brands_of(user)):
        raise not_found("staff user", staff_user_id)
    return user


def create_staff(
    conn: psycopg.Connection[Any],
    acting: StaffAccess | None,
    email: str,
    display_name: str,
    password: str,
    roles: Sequence[str],
    brand_ids: Sequence[int] | None,
) -> StaffUser:
    """A new enabled staff user; ``brand_ids`` None or empty: no brand rows (every brand if an
    admin). A member limited to some brands must give brands within them."""
    if len(password) < 12:
        raise invalid("password", "at least 12 characters")
    _check_brands(conn, acting, brand_ids)
    for role in roles:
        _check_grantable(conn, acting, role)
    if conn.execute(
        "SELECT 1 FROM staff_users WHERE lower(email) = lower(%s)", (email,)
    ).fetchone():
        raise Refused("conflict", "email_taken", f"a staff user with e-mail {email} exists")
    row = conn.execute(
        """INSERT INTO staff_users (email, display_name, password_hash) VALUES (%s, %s, %s)
           RETURNING id""",
        (email, display_name, hash_password(password)),
    ).fetchone()
    assert row is not None
    staff_user_id = int(row[0])
    granted_by = None if acting is None else acting.staff_user_id
    for role in dict.fromkeys(roles):
        conn.execute(
            """INSERT INTO staff_user_roles (staff_user_id, role_id, granted_by)
               SELECT %s, id, %s FROM roles WHERE code = %s""",
            (staff_user_id, granted_by, role),
        )
    _write_brands(conn, staff_user_id, brand_ids or ())
    user = _load(conn, staff_user_id)
    assert user is not None
    record(conn, _actor(acting), "staff.create", "staff_user", staff_user_id, None, _view(user))
    return user


def disable_staff(
    conn: psycopg.Connection[Any], acting: StaffAccess | None, staff_user_id: int
) -> StaffUser:
    before = get_staff(conn, _scope(acting), staff_user_id)
    if acting is not None and acting.staff_user_id == staff_user_id:
        raise forbidden("you cannot disable yourself")
    conn.execute("UPDATE staff_users SET enabled = false WHERE id = %s", (staff_user_id,))
    ended = revoke_sessions(conn, staff_user_id)
    after = get_staff(conn, BrandScope.every_brand(), staff_user_id)
    record(conn, _actor(acting), "staff.disable", "staff_user", staff_user_id, _view(before),
           {**_view(after), "sessions_ended": ended})  # fmt: skip
    return after


def grant_role(
    conn: psycopg.Connection[Any], acting: StaffAccess | None, staff_user_id: int, role: str
) -> StaffUser:
    before = get_staff(conn, _scope(acting), staff_user_id)
    _check_grantable(conn, acting, role)
    conn.execute(
        """INSERT INTO staff_user_roles (staff_user_id, role_id, granted_by)
           SELECT %s, id, %s FROM roles WHERE code = %s ON CONFLICT DO NOTHING""",
        (staff_user_id, None if acting is None else acting.staff_user_id, role),
    )
    return _changed(conn, acting, "staff.grant_role", before)


def revoke_role(
    conn: psycopg.Connection[Any], acting: StaffAccess | None, staff_user_id: int, role: str
) -> StaffUser:
    before = get_staff(conn, _scope(acting), staff_user_id)
    _check_grantable(conn, acting, role)  # taking a role away is as strong as giving it
    conn.execute(
        """DELETE FROM staff_user_roles WHERE staff_user_id = %s
           AND role_id = (SELECT id FROM roles WHERE code = %s)""",
        (staff_user_id, role),
    )
    return _changed(conn, acting, "staff.revoke_role", before)


def set_brand_scopes(
    conn: psycopg.Connection[Any],
    acting: StaffAccess | None,
    staff_user_id: int,
    brand_ids: Sequence[int] | None,
) -> StaffUser:
    """Replace the user's brands; None or empty: no brand rows (every brand for an admin)."""
    before = get_staff(conn, _scope(acting), staff_user_id)
    _check_brands(conn, acting, brand_ids)
    conn.execute("DELETE FROM staff_brand_scopes WHERE staff_user_id = %s", (staff_user_id,))
    _write_brands(conn, staff_user_id, brand_ids or ())
    return _changed(conn, acting, "staff.set_brands", before)


def _changed(
    conn: psycopg.Connection[Any], acting: StaffAccess | None, action: str, before: StaffUser
) -> StaffUser:
    after = get_staff(conn, BrandScope.every_brand(), before.id)
    if after != before:
        record(conn, _actor(acting), action, "staff_user", before.id, _view(before), _view(after))
    return after


def _check_brands(
    conn: psycopg.Connection[Any], acting: StaffAccess | None, brand_ids: Sequence[int] | None
) -> None:
    wanted = frozenset(brand_ids or ())
    known = {int(r[0]) for r in conn.execute("SELECT id FROM brands WHERE id = ANY(%s)",
                                              (sorted(wanted),))}  # fmt: skip
    if wanted - known:
        raise invalid("brand_ids", f"no brand {sorted(wanted - known)[0]}")
    scope = _scope(acting)
    if not scope.covers(BrandScope(wanted or None)):
        raise forbidden("you can only give brands you work for yourself")


def _check_grantable(conn: psycopg.Connection[Any], acting: StaffAccess | None, role: str) -> None:
    rows = conn.execute(
        """SELECT rp.permission_code FROM roles r
           LEFT JOIN role_permissions rp ON rp.role_id = r.id WHERE r.code = %s""",
        (role,),
    ).fetchall()
    if not rows:
        raise invalid("role", f"no role {role}")
    if acting is None:
        return
    needed = {str(r[0]) for r in rows if r[0] is not None}
    if not needed <= acting.permissions or (role == ADMIN and ADMIN not in acting.roles):
        raise forbidden(f"you cannot grant or revoke {role}: it can do more than you")


def _write_brands(
    conn: psycopg.Connection[Any], staff_user_id: int, brand_ids: Sequence[int]
) -> None:
    for brand_id in sorted(set(brand_ids)):
        conn.execute(
            "INSERT INTO staff_brand_scopes (staff_user_id, brand_id) VALUES (%s, %s)",
            (staff_user_id, brand_id),
        )


def _load(conn: psycopg.Connection[Any], staff_user_id: int) -> StaffUser | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """SELECT u.id, u.email, u.display_name, u.enabled, u.created_at,
                      t.confirmed_at IS NOT NULL AS totp_enrolled
               FROM staff_users u LEFT JOIN staff_totp t ON t.staff_user_id = u.id
               WHERE u.id = %s""",
            (staff_user_id,),
        ).fetchone()
    if row is None:
        return None
    held = grants(conn, staff_user_id)
    return StaffUser(
        id=int(row["id"]),
        email=str(row["email"]),
        display_name=str(row["display_name"]),
        enabled=bool(row["enabled"]),
        roles=sorted(held.roles),
        brand_ids=None if held.brands.brand_ids is None else sorted(held.brands.brand_ids),
        requires_2fa=held.requires_2fa,
        totp_enrolled=bool(row["totp_enrolled"]),
        created_at=row["created_at"],
    )


def _brands_of(user: StaffUser) -> BrandScope:
    return BrandScope(None if user.brand_ids is None else frozenset(user.brand_ids))


def _view(user: StaffUser) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "enabled": user.enabled,
        "roles": user.roles,
        "brand_ids": user.brand_ids,
    }


@dataclass(frozen=True, slots=True)
class NewStaff:
    user: StaffUser
    totp: TotpEnrolment | None  # for a role that needs the second factor


def add_staff(
    conn: psycopg.Connection[Any],
    email: str,
    display_name: str,
    password: str,
    roles: Sequence[str],
    brand_codes: Sequence[str],
) -> NewStaff:
    """The operator's way in (``brokerstack staff add``): a staff user with brands by code,
    and a TOTP secret waiting to be confirmed where a role needs the second factor."""
    ids = dict(
        conn.execute("SELECT code, id FROM brands WHERE code = ANY(%s)", (list(brand_codes),))
    )
    missing = [c for c in brand_codes if c not in ids]
    if missing:
        raise invalid("brand", f"no brand {missing[0]}")
    user = create_staff(conn, None, email, display_name, password, roles,
                        [int(ids[c]) for c in brand_codes])  # fmt: skip
    enrolment = begin_totp(conn, user.id) if user.requires_2fa else None
    return NewStaff(user, enrolment)
