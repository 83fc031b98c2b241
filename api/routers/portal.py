"""Clients' self-service (the portal): register with a brand, confirm the e-mail address, the
profile and password, KYC documents and standing, and opening demo and live accounts.

Thin: each route parses, calls one :mod:`backoffice.clients` function in one transaction and
maps its result. A new client logs in at ``/v1/auth/token`` like every client.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AnyPrincipal, ServicesDep, Session
from api.errors import ERROR_RESPONSES, ErrorBody
from api.formats import money
from api.ratelimit import Limit
from backoffice.clients import accounts, kyc, profile, registration
from backoffice.clients.forms import (
    DocumentKind,
    EmailVerification,
    FormSide,
    PasswordChange,
    ProfileChange,
    Registration,
    ResetConfirm,
    ResetRequest,
)
from backoffice.clients.tokens import TOKEN_PATTERN

router = APIRouter(prefix="/v1/portal", tags=["portal"], responses=ERROR_RESPONSES)

DOCUMENTS_PATH = "/v1/portal/kyc/documents"
_UNAUTHENTICATED = Limit(per_second=0.5, burst=20)


async def _per_address(request: Request, services: ServicesDep) -> None:
    """Registration and password resets are open to anyone: limited per caller address."""
    address = request.client.host if request.client else "unknown"
    limit = max(_UNAUTHENTICATED, services.request_limit, key=lambda lim: lim.burst)
    await services.limiter.check([(f"rl:portal:{address}", limit)], "portal requests")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisteredOut(_Out):
    client_id: int
    brand_id: int
    email_verification: Literal["sent"] = Field(
        default="sent", description="A link to confirm the address was mailed to it"
    )


class ProfileOut(_Out):
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


class PasswordChanged(_Out):
    refresh_tokens_revoked: int = Field(description="Sessions ended (log in again elsewhere)")


class Accepted(_Out):
    status: Literal["accepted"] = "accepted"


class DocumentOut(_Out):
    document_id: int
    application_id: int
    kind: str
    side: str | None
    sha256: str
    content_type: str
    size_bytes: int


class LevelOut(_Out):
    level: int
    name: str
    deposits: bool
    deposit_limit: Decimal | None
    deposit_limit_currency: str
    live_accounts: bool
    trading: bool
    withdrawals: bool


class MissingOut(_Out):
    requirement: str
    accepted: dict[str, list[str | None]] = Field(description="Kind -> the sides it needs")
    sides_missing: dict[str, list[str | None]]


class KycStatusOut(_Out):
    level: LevelOut
    next_level: LevelOut | None
    missing: list[MissingOut]
    application_id: int | None
    application_status: str | None
    target_level: int | None


class OpenAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["demo", "live"]


class AccountOut(_Out):
    account_id: int
    login: int
    kind: str
    group: str
    currency: str
    balance: Decimal
    leverage: int = Field(description="The account's leverage (1:N): its own, or its group's")


# --- registration and credentials -----------------------------------------------------------


@router.post(
    "/register",
    response_model=RegisteredOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(_per_address)],
    summary="Register with a brand",
    description="Creates the client and mails a link to confirm the e-mail address; an "
    "address already registered with the brand is 409 email_taken (nothing changes).",
)
def register(services: ServicesDep, body: Registration) -> RegisteredOut:
    with services.db.connection() as conn:
        done = registration.register(conn, services.root, body)
    return RegisteredOut(client_id=done.client_id, brand_id=done.brand_id)


@router.post("/verify-email", response_model=ProfileOut, summary="Confirm the e-mail address")
def verify_email(services: ServicesDep, body: EmailVerification) -> ProfileOut:
    with services.db.connection() as conn:
        found = profile.verify_email(conn, body.token)
    return ProfileOut.model_validate(found, from_attributes=True)


@router.get(
    "/verify-email",
    response_model=ProfileOut,
    summary="Confirm the e-mail address (the mailed link)",
    description="What the link in the verification mail opens: the same as the POST.",
)
def verify_email_link(
    services: ServicesDep, token: Annotated[str, Query(pattern=TOKEN_PATTERN)]
) -> ProfileOut:
    return verify_email(services, EmailVerification(token=token))


@router.post(
    "/verify-email/resend",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a new verification link",
)
def resend_verification(services: ServicesDep, principal: Session) -> Accepted:
    with services.db.connection() as conn:
        registration.send_verification(conn, services.root, principal.client_id)
    return Accepted()


@router.get("/profile", response_model=ProfileOut, summary="Your profile")
def get_profile(services: ServicesDep, principal: AnyPrincipal) -> ProfileOut:
    with services.db.connection() as conn:
        found = profile.profile(conn, principal.client_id)
    return ProfileOut.model_validate(found, from_attributes=True)


@router.patch(
    "/profile",
    response_model=ProfileOut,
    summary="Change your profile",
    description="A new name or birth date is screened against the sanctions lists at once.",
)
def change_profile(services: ServicesDep, principal: Session, body: ProfileChange) -> ProfileOut:
    with services.db.connection() as conn:
        found = profile.update_profile(conn, principal.client_id, body)
    return ProfileOut.model_validate(found, from_attributes=True)


@router.post(
    "/password",
    response_model=PasswordChanged,
    summary="Change your password",
    description="Needs the current password; every refresh token of yours ends with it.",
)
def change_password(
    services: ServicesDep, principal: Session, body: PasswordChange
) -> PasswordChanged:
    with services.db.connection() as conn:
        ended = profile.change_password(conn, principal.client_id, body)
    return PasswordChanged(refresh_tokens_revoked=ended)


@router.post(
    "/password-reset",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(_per_address)],
    summary="Ask for a password reset link",
    description="Always 202: a link is mailed if the brand has a client with the address.",
)
def request_reset(services: ServicesDep, body: ResetRequest) -> Accepted:
    with services.db.connection() as conn:
        profile.request_reset(conn, services.root, body)
    return Accepted()


@router.post(
    "/password-reset/confirm",
    response_model=PasswordChanged,
    dependencies=[Depends(_per_address)],
    summary="Set a new password with the mailed token",
)
def confirm_reset(services: ServicesDep, body: ResetConfirm) -> PasswordChanged:
    with services.db.connection() as conn:
        ended = profile.confirm_reset(conn, body)
    return PasswordChanged(refresh_tokens_revoked=ended)


# --- KYC ------------------------------------------------------------------------------------


@router.post(
    "/kyc/documents",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a KYC document side",
    description="PDF, JPEG or PNG (judged by the content, whatever the declared type), up to "
    "the configured size; kept with its SHA-256 on your open KYC application.",
)
def upload_document(
    services: ServicesDep,
    principal: AnyPrincipal,
    kind: Annotated[DocumentKind, Form(description="Document kind")],
    file: Annotated[UploadFile, File(description="The document's file")],
    side: Annotated[
        FormSide, Form(description="front or back (id cards, licences); empty: no side")
    ] = "",
) -> DocumentOut:
    data = file.file.read(services.root.backoffice.documents_max_bytes + 1)
    with services.db.connection() as conn:
        stored = kyc.upload(
            conn,
            services.root,
            principal.client_id,
            kind,
            side or None,
            file.filename or "",
            data,
        )
    return DocumentOut(
        document_id=stored.id, application_id=stored.application_id, kind=stored.kind,
        side=stored.side, sha256=stored.sha256, content_type=stored.content_type,
        size_bytes=stored.size_bytes,
    )  # fmt: skip


def _level(level: object) -> LevelOut:
    out = LevelOut.model_validate(level, from_attributes=True)
    if out.deposit_limit is None:
        return out
    # the warehouse keeps eight decimals; the client reads it in the currency's own digits
    return out.model_copy(
        update={"deposit_limit": money(out.deposit_limit, out.deposit_limit_currency)}
    )


@router.get("/kyc", response_model=KycStatusOut, summary="Your KYC level and what is missing")
def kyc_status(services: ServicesDep, principal: AnyPrincipal) -> KycStatusOut:
    with services.db.connection() as conn:
        found = kyc.status(conn, principal.client_id)
    return _status_out(found)


def _status_out(found: kyc.KycStatus) -> KycStatusOut:
    standing = found.standing
    return KycStatusOut(
        level=_level(standing.level),
        next_level=None if standing.next_level is None else _level(standing.next_level),
        missing=[
            MissingOut(
                requirement=m.requirement,
                accepted={k: list(v) for k, v in m.accepted.items()},
                sides_missing={k: list(v) for k, v in m.sides_missing.items()},
            )
            for m in standing.missing
        ],
        application_id=found.application_id,
        application_status=found.application_status,
        target_level=found.target_level,
    )


@router.post(
    "/kyc/submit",
    response_model=KycStatusOut,
    summary="Send your documents for verification",
    description="Once nothing is missing (409 kyc_documents_missing lists what is): the "
    "documents go to the verification provider, whose decision raises your level.",
    responses={503: {"model": ErrorBody, "description": "The provider cannot be reached"}},
)
def submit_kyc(services: ServicesDep, principal: Session) -> KycStatusOut:
    with services.db.connection() as conn:
        found = kyc.submit(conn, services.root, principal.client_id)
    return _status_out(found)


# --- trading accounts -----------------------------------------------------------------------


@router.post(
    "/accounts",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open a demo or live trading account",
    description="Demo: in the brand's demo group with a demo balance. Live: needs a confirmed "
    "e-mail address and a KYC level that allows live accounts (403 kyc_not_approved).",
)
def open_account(services: ServicesDep, principal: Session, body: OpenAccount) -> AccountOut:
    with services.db.connection() as conn:
        opened = accounts.open_account(conn, services.commands, principal.client_id, body.kind)
    return AccountOut(
        account_id=opened.account_id, login=opened.login, kind=opened.kind, group=opened.group,
        currency=opened.currency, balance=money(opened.balance, opened.currency),
        leverage=opened.leverage,
    )  # fmt: skip
