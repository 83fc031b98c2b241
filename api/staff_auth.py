"""Staff authentication for ``/v1/admin``: staff access tokens (JWT, audience
``brokerstack-staff``, so a client token is refused here and a staff token at the client
routes), the principal every admin route is scoped to, and ``require(permission)``.

Every admin route takes its principal through ``require("area.action")``: the dependency
checks the session is still open (a revoked session fails at once), that the second factor
was given where a role needs it (403 ``mfa_required``), and that some role grants the
permission (403 ``forbidden``). It leaves the permission on the dependency function as
``required_permission``, so the route table says what each route needs (the access-matrix
test reads it there and fails on a route without one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final

import jwt
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from api.deps import ServicesDep
from api.errors import REJECT_STATUS, ApiError, unauthorized
from api.security import ALGORITHM, ISSUER, signing_key
from backoffice.audit import Actor
from backoffice.commands import ExecutionUnavailable
from backoffice.errors import Refused
from backoffice.staff import BrandScope, OpenedSession, session_access
from backoffice.trading.errors import ExecutionRefused, TradingActionError
from execution.contracts import RejectCode
from warehouse.reference_data import PERMISSIONS

STAFF_AUDIENCE: Final = "brokerstack-staff"

staff_bearer = HTTPBearer(
    scheme_name="StaffBearer",
    auto_error=False,
    description="A staff access token from /v1/admin/auth/token.",
)


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    staff_user_id: int
    session_id: uuid.UUID
    email: str
    roles: frozenset[str]
    permissions: frozenset[str]
    brand_ids: frozenset[int] | None  # None: every brand
    mfa: bool
    requires_2fa: bool

    @property
    def scope(self) -> BrandScope:
        return BrandScope(self.brand_ids)

    @property
    def actor(self) -> Actor:
        return Actor.staff(self.staff_user_id)


@lru_cache(maxsize=8)
def _key(configured: str, data_dir: Path) -> bytes:
    return signing_key(SecretStr(configured), data_dir)


def staff_key(services: Any) -> bytes:
    """The api's signing key (the same as the clients' tokens: the audience tells them apart)."""
    return _key(services.root.api.signing_key.get_secret_value(), services.root.data_path)


def issue_staff_token(key: bytes, session: OpenedSession, ttl: timedelta) -> tuple[str, int]:
    """(token, seconds it lives): the shorter of the access lifetime and the session's."""
    now = datetime.now(UTC)
    expires = min(now + ttl, session.expires_at)
    claims = {
        "iss": ISSUER,
        "aud": STAFF_AUDIENCE,
        "iat": now,
        "exp": expires,
        "sub": str(session.staff_user_id),
        "sid": str(session.session_id),
        "typ": "staff",
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), max(
        1, int((expires - now).total_seconds())
    )


def decode_staff_token(key: bytes, token: str) -> tuple[int, uuid.UUID]:
    """(staff user id, session id) of a validly signed, unexpired staff token."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=STAFF_AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "sid"]},
        )
        if claims.get("typ") != "staff":
            raise jwt.InvalidTokenError("not a staff token")
        return int(claims["sub"]), uuid.UUID(str(claims["sid"]))
    except jwt.ExpiredSignatureError:
        raise unauthorized("token_expired", "the staff token has expired") from None
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as error:
        raise unauthorized("invalid_token", f"the staff token is invalid: {error}") from None


def _staff_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(staff_bearer)],
) -> StaffPrincipal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("not_authenticated", "send a staff bearer token")
    staff_user_id, session_id = decode_staff_token(staff_key(services), credentials.credentials)
    with services.db.connection() as conn:
        access = session_access(conn, session_id, staff_user_id, datetime.now(UTC))
    if access is None:
        raise unauthorized("session_ended", "the staff session has ended; log in again")
    return StaffPrincipal(
        staff_user_id=access.staff_user_id,
        session_id=session_id,
        email=access.email,
        roles=access.roles,
        permissions=access.permissions,
        brand_ids=access.brands.brand_ids,
        mfa=access.mfa,
        requires_2fa=access.requires_2fa,
    )


# Authenticated staff, whatever their permissions: only the auth routes and /me use it.
StaffSession = Annotated[StaffPrincipal, Depends(_staff_principal)]


def require(permission: str) -> Any:
    """The dependency of a route that needs ``permission``, for the route's principal:
    ``Reader = Annotated[StaffPrincipal, require("staff.read")]`` (an ``Annotated`` alias
    rather than a returned type, so mypy reads the alias as the principal's type)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}: add it to PERMISSIONS")

    def allowed(principal: StaffSession) -> StaffPrincipal:
        if principal.requires_2fa and not principal.mfa:
            raise ApiError(
                403,
                "mfa_required",
                "your role needs a session opened with a TOTP code",
                {"required_permission": permission},
            )
        if permission not in principal.permissions:
            raise ApiError(
                403,
                "forbidden",
                f"this call needs the {permission} permission",
                {"required_permission": permission},
            )
        return principal

    allowed.required_permission = permission  # type: ignore[attr-defined]
    return Depends(allowed)


_REFUSAL_STATUS = {
    "invalid": 422, "not_found": 404, "forbidden": 403, "conflict": 409, "unavailable": 503,
}  # fmt: skip


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    # the source tells a back-office rule's refusal from a schema's (both may be 422)
    details = jsonable_encoder({**exc.details, "source": "backoffice"})
    body = {"error": {"code": exc.code, "message": exc.message, "details": details}}
    return JSONResponse(body, status_code=_REFUSAL_STATUS[exc.kind])


async def _trading_refused(_: Request, exc: Exception) -> JSONResponse:
    """A trading admin action refused: by a back-office rule (its own status; a 422 says
    ``source`` "backoffice"), or by the execution service (its reject code's status)."""
    assert isinstance(exc, TradingActionError)
    status, source = exc.status, "backoffice"
    if isinstance(exc, ExecutionRefused):
        source = "execution"
        if exc.code in RejectCode._value2member_map_:
            status = REJECT_STATUS.get(RejectCode(exc.code), exc.status)
        status = 409 if status >= 500 else status  # the service answered: not our fault
    details = {**exc.details, "source": source}
    body = {"error": {"code": exc.code, "message": exc.message, "details": details}}
    return JSONResponse(body, status_code=status)


async def _execution_unavailable(_: Request, exc: Exception) -> JSONResponse:
    body = {
        "error": {
            "code": "execution_unavailable",
            "message": str(exc) or "the execution service did not answer",
            "details": {"retry": True},
        }
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


def install(app: FastAPI) -> None:
    """Back-office refusals answer in the api's one error body."""
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(TradingActionError, _trading_refused)
    app.add_exception_handler(ExecutionUnavailable, _execution_unavailable)
