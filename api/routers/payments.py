"""Clients' deposits (``/v1/portal/deposits``): start one (the client is sent to the PSP's hosted
page), follow its state, list them. Thin: each route calls one :mod:`backoffice.payments`
function. A deposit is credited when the PSP's signed event arrives, never on the client's
return to ``/v1/portal/deposits/return``, which only says so.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AnyPrincipal, ServicesDep
from api.errors import ERROR_RESPONSES
from api.formats import money
from api.schemas import Amount, Currency
from backoffice.clients.registration import public_url
from backoffice.payments import deposits
from brokerstack.settings import Settings

router = APIRouter(prefix="/v1/portal/deposits", tags=["payments"], responses=ERROR_RESPONSES)
RETURN_PATH = "/v1/portal/deposits/return"


class DepositIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency
    method: Literal["card", "ewallet", "crypto", "bank_wire"] = "card"
    idempotency_key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")


class BankWireOut(BaseModel):
    iban: str
    bic: str
    account_holder: str
    reference: str = Field(description="quote it as the transfer's remittance information")


class DepositOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_id: int
    status: str
    method: str
    psp: str
    amount: Decimal
    currency: str
    fee: Decimal = Field(description="the PSP's fee, paid by the broker")
    redirect_url: str | None = Field(description="the PSP's hosted page to pay on")
    deposit_address: str | None = Field(
        default=None, description="crypto: your address to send to (the same every time)"
    )
    received: Decimal | None = Field(
        default=None,
        description="what reached us and was credited (a crypto payer may send "
        "another amount than asked); null until then",
    )
    bank_wire: BankWireOut | None = Field(
        default=None, description="bank_wire: where to send the money and what to quote"
    )
    first_deposit: bool
    failure: str | None


def _out(found: deposits.Deposit, settings: Settings) -> DepositOut:
    config = settings.backoffice
    wire = (BankWireOut(iban=config.bank_wire_iban, bic=config.bank_wire_bic,
                        account_holder=config.bank_wire_holder, reference=found.psp_payment_id)
            if found.method == "bank_wire" and found.psp_payment_id else None)  # fmt: skip
    return DepositOut(bank_wire=wire,
        payment_id=found.payment_id, status=found.status, method=found.method, psp=found.psp,
        amount=money(found.amount, found.currency), currency=found.currency,
        fee=money(found.fee, found.currency), redirect_url=found.redirect_url,
        deposit_address=found.deposit_address,
        received=None if found.received is None else money(found.received, found.currency),
        first_deposit=found.is_ftd, failure=found.failure,
    )  # fmt: skip


@router.post(
    "",
    response_model=DepositOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start a deposit: open the returned redirect_url to pay",
    description="Within the limits of your KYC level (403 kyc_not_approved, deposit_limit). "
    "method card or ewallet: pay on redirect_url; crypto: send to deposit_address, credited "
    "with what arrives once the transfer is confirmed. "
    "The same idempotency_key answers the same deposit. The wallet is credited when the PSP "
    "confirms the payment.",
)
def start_deposit(services: ServicesDep, principal: AnyPrincipal, body: DepositIn) -> DepositOut:
    with services.db.connection() as conn:
        started = deposits.start_deposit(
            conn, services.psps, principal.client_id, body.amount, body.currency, body.method,
            body.idempotency_key, f"{public_url(services.root)}{RETURN_PATH}",
        )  # fmt: skip
    return _out(started, services.root)


@router.get("", response_model=list[DepositOut], summary="Your deposits, newest first")
def list_deposits(
    services: ServicesDep,
    principal: AnyPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DepositOut]:
    with services.db.connection() as conn:
        return [_out(d, services.root) for d in deposits.history(conn, principal.client_id, limit)]


@router.get(
    "/return",
    response_model=None,
    responses={200: {"description": "A page saying the deposit is being confirmed",
                     "content": {"text/html": {"schema": {"type": "string"}}}}},
    summary="Where the PSP's page sends you back (the deposit's state is at /{payment_id})",
)  # fmt: skip
def returned(
    payment_id: Annotated[int, Query(ge=1)],
    outcome: Annotated[Literal["success", "cancel"], Query()],
) -> HTMLResponse:
    # says nothing about the payment (anyone can open this address): the state is the PSP's
    # signed event's, shown to the client at GET /v1/portal/deposits/{payment_id}
    text = ("Thank you. Your deposit is credited as soon as the payment provider confirms it."
            if outcome == "success" else "The payment was not completed.")  # fmt: skip
    return HTMLResponse(f"<!doctype html><title>Deposit {payment_id}</title><p>{text}</p>")


@router.get("/{payment_id}", response_model=DepositOut, summary="One of your deposits")
def get_deposit(
    services: ServicesDep,
    principal: AnyPrincipal,
    payment_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> DepositOut:
    with services.db.connection() as conn:
        return _out(deposits.find(conn, principal.client_id, payment_id), services.root)
