"""Admin actions on clients' trading accounts: read an account's admin state; leverage (within
the brand's cap), group, the trading switch; the dealer's closes; balance corrections, credit
and bonuses (above the brand's maker-checker threshold a pending request, answered 202, that
a second staff member approves or rejects). Each action is sent to the execution service and
audited with the account before and after by :mod:`backoffice.trading`."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from api.decimals import LOTS, Lots, positive_pattern
from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES, ErrorBody
from api.schemas import ID_MAX
from api.staff_auth import StaffPrincipal, require
from backoffice.trading import actions, approvals, desk
from backoffice.trading import requests as admin_requests
from backoffice.trading.requests import AdminRequest

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    503: {
        "model": ErrorBody,
        "description": "The execution service did not answer: nothing "
        "was changed; retry with the same request_id",
    },
}
router = APIRouter(prefix="/v1/admin/trading", tags=["admin: trading"], responses=RESPONSES)

Reader = Annotated[StaffPrincipal, require("trading.read")]
Manager = Annotated[StaffPrincipal, require("trading.manage")]
Money = Annotated[StaffPrincipal, require("money.adjust")]
AccountId = Annotated[int, Path(ge=1, le=ID_MAX, description="Trading account id.")]
PositionId = Annotated[int, Path(ge=1, le=ID_MAX, description="Open position id.")]
REQUEST_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
RequestIdPath = Annotated[str, Path(pattern=REQUEST_ID, description="The admin request's id.")]
RequestId = Annotated[
    str,
    Field(
        pattern=REQUEST_ID,
        description="Your id for this action: "
        "a retry with the same id returns the first outcome, never a second "
        "execution; the same id on another action is 409.",
    ),
]
TEXT = r"^[^\x00-\x1f]*$"  # one line of text: no control characters
GroupCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]

# money in the account's currency: up to 15 digits and 8 decimals (the execution service
# refuses an amount not exact in the currency); a correction or credit may be negative
_MONEY = positive_pattern(15, 8)
SIGNED_MONEY = "^-?" + _MONEY[1:]
_SIGNED = re.compile(SIGNED_MONEY)
_MONEY_RULE = "a decimal string such as '250.00': up to 15 digits and 8 decimals"


def _signed(value: object) -> Decimal:
    if not isinstance(value, str) or _SIGNED.fullmatch(value) is None:
        raise PydanticCustomError("decimal_string", "expected {rule}", {"rule": _MONEY_RULE})
    return Decimal(value)


def _positive(value: object) -> Decimal:
    if not isinstance(value, str) or re.fullmatch(_MONEY, value) is None:
        raise PydanticCustomError(
            "decimal_string", "expected {rule} above 0", {"rule": _MONEY_RULE}
        )
    return Decimal(value)


SignedAmount = Annotated[
    Decimal,
    PlainValidator(_signed, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "pattern": SIGNED_MONEY, "examples": ["-250.00"]}),
]
PositiveAmount = Annotated[
    Decimal,
    PlainValidator(_positive, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "pattern": _MONEY, "examples": ["100.00"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeverageChange(_Strict):
    request_id: RequestId
    leverage: int | None = Field(
        ge=1,
        le=10_000,
        description="1:leverage; null: the group's. "
        "Within the brand's retail cap for the client's country.",
    )


class GroupChange(_Strict):
    request_id: RequestId
    group: GroupCode = Field(description="The code of a group of the account's brand.")


class TradingSwitch(_Strict):
    request_id: RequestId
    enabled: bool


class DealerCloseBody(_Strict):
    request_id: RequestId
    volume: Lots | None = Field(
        default=None, description="Lots to close; null: all of it. " + LOTS.rule
    )


class CloseAll(_Strict):
    request_id: RequestId


class SignedMoney(_Strict):
    request_id: RequestId
    amount: SignedAmount = Field(description="Signed, in the account's currency.")
    comment: str = Field(default="", max_length=200, pattern=TEXT)


class Bonus(_Strict):
    request_id: RequestId
    amount: PositiveAmount = Field(description="In the account's currency.")
    comment: str = Field(default="", max_length=200, pattern=TEXT)


class Rejection(_Strict):
    reason: str = Field(min_length=1, max_length=500, pattern=TEXT)


class PositionOut(BaseModel):
    position_id: int
    symbol: str
    side: str
    volume: Decimal
    open_price: Decimal


class AccountStateOut(BaseModel):
    account_id: int
    group: str = Field(description="The account group's code.")
    leverage: int | None = Field(description="The account's own; null: its group's.")
    effective_leverage: int
    enabled: bool
    balance: Decimal
    credit: Decimal
    currency: str
    positions: list[PositionOut]


class AdminRequestOut(BaseModel):
    request_id: str
    action: str
    account_id: int
    client_id: int
    brand_id: int
    status: str = Field(
        description="pending (waits for a second staff member), executed, "
        "approved, rejected, or failed (the execution service refused it)."
    )
    maker_id: int
    checker_id: int | None
    amount: Decimal | None
    currency: str | None
    comment: str
    reply: dict[str, Any] | None = Field(description="The execution service's answer.")
    decision_reason: str | None


_PENDING: dict[int | str, dict[str, Any]] = {
    202: {
        "model": AdminRequestOut,
        "description": "Above the brand's threshold: "
        "a pending request a second staff member approves or rejects",
    }
}


def _out(request: AdminRequest, response: Response | None = None) -> AdminRequestOut:
    if response is not None and request.status == "pending":
        response.status_code = status.HTTP_202_ACCEPTED
    return AdminRequestOut.model_validate(request, from_attributes=True)


@router.get(
    "/accounts/{account_id}",
    response_model=AccountStateOut,
    summary="A trading account's admin state and open positions",
)
def account_state(
    services: ServicesDep, principal: Reader, account_id: AccountId
) -> AccountStateOut:
    with services.db.connection() as conn:
        view = actions.state(conn, account_id, principal.brand_ids)
    return AccountStateOut(account_id=account_id, **view["account"], positions=view["positions"])


@router.put(
    "/accounts/{account_id}/leverage",
    response_model=AdminRequestOut,
    summary="Set the account's leverage",
)
def change_leverage(
    services: ServicesDep, principal: Manager, account_id: AccountId, body: LeverageChange
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            desk.change_leverage(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                account_id=account_id,
                leverage=body.leverage,
            )
        )


@router.put(
    "/accounts/{account_id}/group",
    response_model=AdminRequestOut,
    summary="Move the account to another group of its brand",
)
def change_group(
    services: ServicesDep, principal: Manager, account_id: AccountId, body: GroupChange
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            actions.change_group(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                account_id=account_id,
                group=body.group,
            )
        )


@router.put(
    "/accounts/{account_id}/trading-enabled",
    response_model=AdminRequestOut,
    summary="Enable or disable trading on the account",
)
def set_trading_enabled(
    services: ServicesDep, principal: Manager, account_id: AccountId, body: TradingSwitch
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            actions.set_trading_enabled(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                account_id=account_id,
                enabled=body.enabled,
            )
        )


@router.post(
    "/positions/{position_id}/close",
    response_model=AdminRequestOut,
    summary="Close a position as the dealer",
)
def dealer_close(
    services: ServicesDep, principal: Manager, position_id: PositionId, body: DealerCloseBody
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            actions.dealer_close(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                position_id=position_id,
                volume=body.volume,
            )
        )


@router.post(
    "/accounts/{account_id}/close-all",
    response_model=AdminRequestOut,
    summary="Close every open position of the account as the dealer",
)
def dealer_close_all(
    services: ServicesDep, principal: Manager, account_id: AccountId, body: CloseAll
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            actions.dealer_close_all(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                account_id=account_id,
            )
        )


@router.post(
    "/accounts/{account_id}/balance-corrections",
    response_model=AdminRequestOut,
    responses=_PENDING,
    summary="Correct the balance",
)
def balance_correction(
    services: ServicesDep,
    principal: Money,
    account_id: AccountId,
    body: SignedMoney,
    response: Response,
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            desk.balance_correction(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                account_id=account_id,
                amount=body.amount,
                comment=body.comment,
            ),
            response,
        )


@router.post(
    "/accounts/{account_id}/credit",
    response_model=AdminRequestOut,
    responses=_PENDING,
    summary="Add credit (negative: take it back)",
)
def grant_credit(
    services: ServicesDep,
    principal: Money,
    account_id: AccountId,
    body: SignedMoney,
    response: Response,
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            desk.grant_credit(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                account_id=account_id,
                amount=body.amount,
                comment=body.comment,
            ),
            response,
        )


@router.post(
    "/accounts/{account_id}/bonuses",
    response_model=AdminRequestOut,
    responses=_PENDING,
    summary="Grant a bonus",
)
def grant_bonus(
    services: ServicesDep,
    principal: Money,
    account_id: AccountId,
    body: Bonus,
    response: Response,
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            desk.grant_bonus(
                conn,
                services.commands,
                principal.actor,
                principal.brand_ids,
                request_id=body.request_id,
                account_id=account_id,
                amount=body.amount,
                comment=body.comment,
            ),
            response,
        )


@router.get(
    "/requests",
    response_model=list[AdminRequestOut],
    summary="Requests waiting for a second staff member, oldest first",
)
def pending_requests(services: ServicesDep, principal: Money) -> list[AdminRequestOut]:
    with services.db.connection() as conn:
        return [_out(r) for r in admin_requests.pending_requests(conn, principal.brand_ids)]


@router.post(
    "/requests/{request_id}/approve",
    response_model=AdminRequestOut,
    summary="Approve and execute another staff member's request",
)
def approve_request(
    services: ServicesDep, principal: Money, request_id: RequestIdPath
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            approvals.approve_request(
                conn, services.commands, principal.actor, principal.brand_ids, request_id=request_id
            )
        )


@router.post(
    "/requests/{request_id}/reject",
    response_model=AdminRequestOut,
    summary="Reject another staff member's request",
)
def reject_request(
    services: ServicesDep, principal: Money, request_id: RequestIdPath, body: Rejection
) -> AdminRequestOut:
    with services.db.connection() as conn:
        return _out(
            approvals.reject_request(
                conn,
                principal.actor,
                principal.brand_ids,
                request_id=request_id,
                reason=body.reason,
            )
        )
