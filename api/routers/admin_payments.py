"""Finance's withdrawals queue (``/v1/admin/payments``): what waits for approval, approve (two
different staff members above the brand's threshold; never the one who asked), reject with a
reason. Thin: each route calls one :mod:`backoffice.payments.withdrawals` function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.routers.withdrawals import WithdrawalOut, out
from api.schemas import ID_MAX
from api.staff_auth import StaffPrincipal, require
from backoffice.payments import withdrawals

router = APIRouter(prefix="/v1/admin/payments", tags=["admin: payments"],
                   responses=ERROR_RESPONSES)  # fmt: skip
Reader = Annotated[StaffPrincipal, require("payments.read")]
Approver = Annotated[StaffPrincipal, require("payments.approve")]
WithdrawalId = Annotated[int, Path(ge=1, le=ID_MAX)]


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f]*$")


@router.get("/withdrawals", response_model=list[WithdrawalOut],
            summary="Withdrawals waiting for approval, oldest first")  # fmt: skip
def withdrawal_queue(services: ServicesDep, principal: Reader) -> list[WithdrawalOut]:
    with services.db.connection() as conn:
        return [out(w) for w in withdrawals.queue(conn, principal.scope)]


@router.post(
    "/withdrawals/{withdrawal_id}/approve",
    response_model=WithdrawalOut,
    summary="Approve a withdrawal (the second approval above the threshold sends it)",
)
def approve_withdrawal(
    services: ServicesDep, principal: Approver, withdrawal_id: WithdrawalId
) -> WithdrawalOut:
    with services.db.connection() as conn:
        return out(withdrawals.approve(conn, principal.actor, principal.scope, withdrawal_id))


@router.post(
    "/withdrawals/{withdrawal_id}/reject",
    response_model=WithdrawalOut,
    summary="Reject a withdrawal: the held money goes back to the wallet",
)
def reject_withdrawal(
    services: ServicesDep, principal: Approver, withdrawal_id: WithdrawalId, body: Rejection
) -> WithdrawalOut:
    with services.db.connection() as conn:
        return out(withdrawals.reject(conn, principal.actor, principal.scope, withdrawal_id,
                                      body.reason))  # fmt: skip
