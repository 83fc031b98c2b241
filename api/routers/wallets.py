"""Clients' wallets in the portal: what each holds, converting between them at a quoted rate,
and moving money between a wallet and a live trading account.

Thin: each route parses, calls one :mod:`backoffice.wallets` function in one transaction and
maps its result; money is written at its currency's minor units, rates without trailing zeros.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.backoffice import RoutePrices
from api.deps import AnyPrincipal, ServicesDep, Session
from api.errors import ERROR_RESPONSES, ErrorBody
from api.formats import Fixed, money, plain
from api.idempotency import KEY_PATTERN
from api.schemas import ID_MAX, Amount, Currency
from backoffice.wallets import conversions, trading_transfers
from backoffice.wallets.accounts import WalletBalance, wallet_balances

router = APIRouter(prefix="/v1/portal/wallets", tags=["wallets"], responses=ERROR_RESPONSES)

# in a body the OpenAPI bound is a float: keep it one a float holds exactly
BODY_ID_MAX = 2**53
QuoteId = Annotated[int, Path(ge=1, le=ID_MAX, description="Quote id.")]
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "No live rate now (try again)"}
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WalletOut(_Out):
    wallet_id: int
    currency: str
    balance: Fixed = Field(description="What the wallet holds")
    held: Fixed = Field(description="Reserved by transfers under way")
    available: Fixed = Field(description="Balance less held: what you may move now")
    status: str


class QuoteRequest(_In):
    from_currency: Currency = Field(description="The wallet to sell from")
    to_currency: Currency = Field(description="The currency to buy (its wallet is opened)")
    amount: Amount = Field(description="To sell, in from_currency")


class QuoteOut(_Out):
    quote_id: int
    from_currency: str
    to_currency: str
    sell_amount: Fixed
    buy_amount: Fixed = Field(description="What you get, in to_currency")
    rate: Fixed = Field(description="to_currency per from_currency, the markup included")
    created_at: datetime
    expires_at: datetime = Field(description="Confirm before this")
    confirmed_at: datetime | None


class TransferRequest(_In):
    trading_account_id: int = Field(ge=1, le=BODY_ID_MAX, description="One of your live accounts")
    direction: Literal["to_trading", "from_trading"]
    amount: Amount = Field(description="In the trading account's currency")
    idempotency_key: str = Field(
        pattern=KEY_PATTERN,
        description="Your key for this transfer: a retry with it answers the first transfer; "
        "on another transfer it is 409 idempotency_conflict.",
    )


class TransferOut(_Out):
    transfer_id: int
    wallet_id: int
    trading_account_id: int
    direction: str
    amount: Fixed
    currency: str
    status: str = Field(
        description="completed, failed, or started: the trading side has not answered yet "
        "(it completes shortly)"
    )
    failure: str | None = Field(description="Why it failed (the execution service's code)")
    created_at: datetime
    updated_at: datetime


def _wallet_out(w: WalletBalance) -> WalletOut:
    return WalletOut(
        wallet_id=w.wallet_id, currency=w.currency, balance=money(w.balance, w.currency),
        held=money(w.held, w.currency), available=money(w.available, w.currency),
        status=w.status,
    )  # fmt: skip


def _quote_out(found: conversions.FxQuote) -> QuoteOut:
    return QuoteOut(
        quote_id=found.id, from_currency=found.from_currency, to_currency=found.to_currency,
        sell_amount=money(found.sell_amount, found.from_currency),
        buy_amount=money(found.buy_amount, found.to_currency), rate=plain(found.rate),
        created_at=found.created_at, expires_at=found.expires_at,
        confirmed_at=found.confirmed_at,
    )  # fmt: skip


def _transfer_out(found: trading_transfers.WalletTransfer) -> TransferOut:
    return TransferOut(
        transfer_id=found.id, wallet_id=found.wallet_id,
        trading_account_id=found.trading_account_id, direction=found.direction,
        amount=money(found.amount, found.currency), currency=found.currency,
        status=found.status, failure=found.failure, created_at=found.created_at,
        updated_at=found.updated_at,
    )  # fmt: skip


@router.get("", response_model=list[WalletOut], summary="Your wallets and what they hold")
def list_wallets(services: ServicesDep, principal: AnyPrincipal) -> list[WalletOut]:
    with services.db.connection() as conn:
        found = wallet_balances(conn, principal.client_id)
    return [_wallet_out(w) for w in found]


@router.post(
    "/quotes",
    response_model=QuoteOut,
    status_code=status.HTTP_201_CREATED,
    summary="Quote a conversion between your wallets",
    description="The live rate less the brand's markup, good until expires_at; nothing moves "
    "until it is confirmed. More than the wallet has available is 409 insufficient_funds; no "
    "live price now is 503 fx_rate_unavailable.",
    responses=_UNAVAILABLE,
)
def quote(services: ServicesDep, principal: Session, body: QuoteRequest) -> QuoteOut:
    prices = RoutePrices(services.redis)
    max_age = services.settings.quote_max_age_seconds
    with services.db.connection() as conn:
        found = conversions.quote_from_currency(
            conn, prices, principal.client_id, body.from_currency, body.to_currency, body.amount,
            max_age=timedelta(seconds=max_age),
        )  # fmt: skip
    return _quote_out(found)


@router.post(
    "/quotes/{quote_id}/confirm",
    response_model=QuoteOut,
    summary="Convert at a quote",
    description="Both wallets change together or neither does; confirming again answers the "
    "first confirmation. An expired quote is 409 quote_expired.",
)
def confirm_quote(services: ServicesDep, principal: Session, quote_id: QuoteId) -> QuoteOut:
    with services.db.connection() as conn:
        found = conversions.confirm(conn, principal.client_id, quote_id)
    return _quote_out(found)


@router.post(
    "/transfers",
    response_model=TransferOut,
    summary="Move money between a wallet and a live trading account",
    description="Answers the transfer's outcome: completed, failed (the trading account's "
    "free margin, say), or 202 started when the execution service has not answered yet.",
    responses={202: {"model": TransferOut, "description": "Under way: it completes shortly"}},
)
def transfer(
    services: ServicesDep, principal: Session, body: TransferRequest, response: Response
) -> TransferOut:
    with services.db.connection() as conn:
        found = trading_transfers.transfer(
            conn, services.commands, principal.client_id, body.trading_account_id,
            body.direction, body.amount, body.idempotency_key,
        )  # fmt: skip
    if found.status == "started":
        response.status_code = status.HTTP_202_ACCEPTED
    return _transfer_out(found)


@router.get(
    "/transfers",
    response_model=list[TransferOut],
    summary="Your transfers between wallets and trading accounts, the newest first",
)
def list_transfers(
    services: ServicesDep,
    principal: AnyPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TransferOut]:
    with services.db.connection() as conn:
        found = trading_transfers.client_transfers(conn, principal.client_id, limit)
    return [_transfer_out(t) for t in found]
