"""Staff users: list, create, disable, grant and revoke roles, set brands (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas import ID_MAX
from api.staff_auth import StaffPrincipal, require
from backoffice.staff import StaffAccess, StaffUser, users

router = APIRouter(prefix="/v1/admin/staff", tags=["admin: staff"], responses=ERROR_RESPONSES)

Reader = Annotated[StaffPrincipal, require("staff.read")]
Manager = Annotated[StaffPrincipal, require("staff.manage")]
StaffUserId = Annotated[int, Path(ge=1, le=ID_MAX, description="Staff user id.")]
# \x7f-\x9f too: Python's \s matches U+0085 and a JSON-Schema (ECMA) \s does not
EMAIL = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+$"
TEXT = r"^[^\x00-\x1f]*$"  # one line of text: no control characters
RoleCode = Annotated[str, Path(pattern=r"^[a-z][a-z_]{0,62}$")]
# inside a list the OpenAPI bound is a float: keep it one a float holds exactly
BrandId = Annotated[int, Field(ge=1, le=2**53)]
BrandIds = Field(default=None, max_length=100, description="null or empty: no brand rows "
                 "(every brand for an admin; none for any other role).")  # fmt: skip


class StaffUserOut(BaseModel):
    id: int
    email: str
    display_name: str
    enabled: bool
    roles: list[str]
    brand_ids: list[int] | None = Field(description="null: every brand.")
    requires_2fa: bool
    totp_enrolled: bool
    created_at: datetime


class StaffUserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    display_name: str = Field(min_length=1, max_length=200, pattern=TEXT)
    password: str = Field(min_length=12, max_length=1024)
    roles: list[Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,62}$")]] = Field(max_length=20)
    brand_ids: list[BrandId] | None = BrandIds


class BrandScopes(BaseModel):
    brand_ids: list[BrandId] | None = BrandIds


def _acting(principal: StaffPrincipal) -> StaffAccess:
    return StaffAccess(
        staff_user_id=principal.staff_user_id,
        email=principal.email,
        roles=principal.roles,
        permissions=principal.permissions,
        brands=principal.scope,
        requires_2fa=principal.requires_2fa,
        mfa=principal.mfa,
        session_id=principal.session_id,
    )


def _out(user: StaffUser) -> StaffUserOut:
    return StaffUserOut.model_validate(user, from_attributes=True)


@router.get("", response_model=list[StaffUserOut], summary="Staff users within your brands")
def list_staff(services: ServicesDep, principal: Reader) -> list[StaffUserOut]:
    with services.db.connection() as conn:
        return [_out(u) for u in users.list_staff(conn, principal.scope)]


@router.post("", response_model=StaffUserOut, status_code=status.HTTP_201_CREATED,
             summary="Create a staff user")  # fmt: skip
def create_staff(services: ServicesDep, principal: Manager, body: StaffUserCreate) -> StaffUserOut:
    with services.db.connection() as conn:
        return _out(users.create_staff(conn, _acting(principal), body.email, body.display_name,
                                       body.password, body.roles, body.brand_ids))  # fmt: skip


@router.get("/{staff_user_id}", response_model=StaffUserOut, summary="One staff user")
def get_staff(services: ServicesDep, principal: Reader, staff_user_id: StaffUserId) -> StaffUserOut:
    with services.db.connection() as conn:
        return _out(users.get_staff(conn, principal.scope, staff_user_id))


@router.post("/{staff_user_id}/disable", response_model=StaffUserOut,
             summary="Disable a staff user (ends their sessions)")  # fmt: skip
def disable_staff(
    services: ServicesDep, principal: Manager, staff_user_id: StaffUserId
) -> StaffUserOut:
    with services.db.connection() as conn:
        return _out(users.disable_staff(conn, _acting(principal), staff_user_id))


@router.put("/{staff_user_id}/roles/{role}", response_model=StaffUserOut, summary="Grant a role")
def grant_role(
    services: ServicesDep, principal: Manager, staff_user_id: StaffUserId, role: RoleCode
) -> StaffUserOut:
    with services.db.connection() as conn:
        return _out(users.grant_role(conn, _acting(principal), staff_user_id, role))


@router.delete("/{staff_user_id}/roles/{role}", response_model=StaffUserOut,
               summary="Revoke a role")  # fmt: skip
def revoke_role(
    services: ServicesDep, principal: Manager, staff_user_id: StaffUserId, role: RoleCode
) -> StaffUserOut:
    with services.db.connection() as conn:
        return _out(users.revoke_role(conn, _acting(principal), staff_user_id, role))


@router.put("/{staff_user_id}/brands", response_model=StaffUserOut, summary="Set the brands")
def set_brands(
    services: ServicesDep, principal: Manager, staff_user_id: StaffUserId, body: BrandScopes
) -> StaffUserOut:
    with services.db.connection() as conn:
        return _out(users.set_brand_scopes(conn, _acting(principal), staff_user_id,
                                           body.brand_ids))  # fmt: skip
