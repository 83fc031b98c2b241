"""Clients' withdrawals (``/v1/portal/withdrawals``): ask for one (the money is held at once),
follow it through approval, payout and payment, or cancel it while it waits. Thin: each route
calls one :mod:`backoffice.payments.withdrawals` function."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AnyPrincipal, ServicesDep, Session
from api.errors import ERROR_RESPONSES
from api.formats import money
from api.schemas import ID_MAX, Amount, Currency
from backoffice.payments import withdrawals

router = APIRouter(prefix="/v1/portal/withdrawals", tags=["payments"],
                   responses=ERROR_RESPONSES)  # fmt: skip
WithdrawalId = Annotated[int, Path(ge=1, le=ID_MAX)]


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency
    psp: str | None = Field(
        default=None,
        pattern="^[a-z0-9][a-z0-9-]{0,31}$",
        description="where to pay back to (default: where you deposited)",
    )
    destination: str | None = Field(
        default=None, pattern="^[A-Za-z0-9]{26,64}$",
        description="crypto only: the address to pay to",
    )  # fmt: skip
    idempotency_key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")


class WithdrawalOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawal_id: int
    status: str = Field(
        description="pending_approval, approved, sent, paid, failed, rejected or canceled"
    )
    amount: Decimal
    currency: str
    psp: str
    approvals_needed: int
    approvals: int
    failure: str | None
    requested_at: datetime
    updated_at: datetime


def out(found: withdrawals.Withdrawal) -> WithdrawalOut:
    return WithdrawalOut(
        withdrawal_id=found.id, status=found.status,
        amount=money(found.amount, found.currency), currency=found.currency, psp=found.psp,
        approvals_needed=found.approvals_needed, approvals=found.approvals,
        failure=found.failure, requested_at=found.requested_at, updated_at=found.updated_at,
    )  # fmt: skip


@router.post(
    "",
    response_model=WithdrawalOut,
    status_code=status.HTTP_201_CREATED,
    summary="Ask for a withdrawal: the amount is held in your wallet until it is paid",
    description="Back to where you deposited, up to what each method brought in (409 "
    "return_to_source); needs a KYC level that allows withdrawals (403 kyc_not_approved).",
)
def request_withdrawal(
    services: ServicesDep, principal: Session, body: WithdrawalIn
) -> WithdrawalOut:
    with services.db.connection() as conn:
        return out(withdrawals.request_withdrawal(
            conn, principal.client_id, body.amount, body.currency, body.psp,
            body.idempotency_key, destination=body.destination))  # fmt: skip


@router.get("", response_model=list[WithdrawalOut], summary="Your withdrawals, newest first")
def list_withdrawals(
    services: ServicesDep,
    principal: AnyPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[WithdrawalOut]:
    with services.db.connection() as conn:
        return [out(w) for w in withdrawals.history(conn, principal.client_id, limit)]


@router.get("/{withdrawal_id}", response_model=WithdrawalOut, summary="One of your withdrawals")
def get_withdrawal(
    services: ServicesDep, principal: AnyPrincipal, withdrawal_id: WithdrawalId
) -> WithdrawalOut:
    with services.db.connection() as conn:
        return out(withdrawals.find(conn, principal.client_id, withdrawal_id))


@router.post(
    "/{withdrawal_id}/cancel",
    response_model=WithdrawalOut,
    summary="Cancel a withdrawal still waiting for approval (the money is released)",
)
def cancel_withdrawal(
    services: ServicesDep, principal: Session, withdrawal_id: WithdrawalId
) -> WithdrawalOut:
    with services.db.connection() as conn:
        return out(withdrawals.cancel(conn, principal.client_id, withdrawal_id))
