"""Staff log in (e-mail, password, then the TOTP code once enrolled), log out, refresh the
short-lived token within the session, see who they are, and enrol the second factor."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES, ApiError, unauthorized
from api.staff_auth import StaffSession, issue_staff_token, staff_key
from backoffice.staff import LoginRefused, OpenedSession
from backoffice.staff import sessions as staff_sessions

router = APIRouter(prefix="/v1/admin", tags=["admin: auth"], responses=ERROR_RESPONSES)

TOTP_CODE = r"^[0-9]{6}$"


class StaffLogin(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^\x00-\x1f]+$")
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, pattern=TOTP_CODE, description="The app's code.")


class StaffToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds; log in again (or refresh) after.")
    mfa: bool = Field(description="Whether the session was opened with a TOTP code.")


class StaffMe(BaseModel):
    staff_user_id: int
    email: str
    roles: list[str]
    permissions: list[str]
    brand_ids: list[int] | None = Field(description="null: every brand.")
    mfa: bool
    requires_2fa: bool


class TotpEnrolment(BaseModel):
    secret: str
    provisioning_uri: str = Field(description="otpauth:// URI for an authenticator app.")


class TotpConfirm(BaseModel):
    code: str = Field(pattern=TOTP_CODE)


def _token(services: ServicesDep, session: OpenedSession) -> StaffToken:
    ttl = timedelta(seconds=services.root.backoffice.staff_access_token_seconds)
    token, expires_in = issue_staff_token(staff_key(services), session, ttl)
    return StaffToken(access_token=token, expires_in=expires_in, mfa=session.mfa)


@router.post("/auth/token", response_model=StaffToken, summary="Staff log in")
def token(services: ServicesDep, body: StaffLogin, request: Request) -> StaffToken:
    ip = request.client.host if request.client else "unknown"
    hours = timedelta(hours=services.root.backoffice.staff_session_hours)
    with services.db.connection() as conn:
        outcome = staff_sessions.login(conn, body.email, body.password, body.totp, ip, hours)
    # the failure counted for throttling is committed before the refusal is answered
    if isinstance(outcome, LoginRefused):
        if outcome.code == "rate_limited":
            raise ApiError(429, "rate_limited", outcome.message,
                           {"scope": "staff logins", "retry_after": outcome.retry_after},
                           headers={"Retry-After": str(outcome.retry_after)})  # fmt: skip
        raise unauthorized(outcome.code, outcome.message)
    return _token(services, outcome)


@router.post("/auth/refresh", response_model=StaffToken, summary="A fresh token, same session")
def refresh(services: ServicesDep, principal: StaffSession) -> StaffToken:
    with services.db.connection() as conn:
        session = staff_sessions.current_session(conn, principal.session_id)
    if session is None:
        raise unauthorized("session_ended", "the staff session has ended; log in again")
    return _token(services, session)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End the session")
def logout(services: ServicesDep, principal: StaffSession) -> None:
    with services.db.connection() as conn:
        staff_sessions.logout(conn, principal.session_id, principal.staff_user_id)


@router.post("/auth/totp/enrol", response_model=TotpEnrolment, summary="Start TOTP enrolment")
def totp_enrol(services: ServicesDep, principal: StaffSession) -> TotpEnrolment:
    with services.db.connection() as conn:
        enrolment = staff_sessions.begin_totp(conn, principal.staff_user_id)
    return TotpEnrolment(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@router.post(
    "/auth/totp/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm TOTP enrolment with a code (log in again with the code after)",
)
def totp_confirm(services: ServicesDep, principal: StaffSession, body: TotpConfirm) -> None:
    with services.db.connection() as conn:
        staff_sessions.confirm_totp(conn, principal.staff_user_id, body.code)


@router.get("/me", response_model=StaffMe, summary="Who you are and what you may do")
def me(principal: StaffSession) -> StaffMe:
    return StaffMe(
        staff_user_id=principal.staff_user_id,
        email=principal.email,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        brand_ids=None if principal.brand_ids is None else sorted(principal.brand_ids),
        mfa=principal.mfa,
        requires_2fa=principal.requires_2fa,
    )
