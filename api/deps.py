"""Every dependency a route may ask for, as ``Annotated`` aliases (the one place to look)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from redis.asyncio import Redis

from api.accounts import Accounts, OwnedAccount
from api.auth import Authenticator, Principal
from api.backoffice import RouteCommands
from api.errors import ApiError, invalid, unauthorized
from api.execution_client import ExecutionClient
from api.history import History
from api.idempotency import KEY_PATTERN
from api.market import Market
from api.ratelimit import Limit, RateLimiter
from api.readiness import Readiness
from api.schemas import ID_MAX, AwareDatetime
from api.streams import Hub
from backoffice.payments.providers import Provider
from brokerstack.settings import ApiSettings, Settings


@dataclass
class Services:
    """What one api process holds for its lifetime (built in ``api.app``'s lifespan)."""

    settings: ApiSettings
    redis: Redis
    auth: Authenticator
    accounts: Accounts
    history: History
    market: Market
    execution: ExecutionClient
    limiter: RateLimiter
    hub: Hub
    readiness: Readiness
    # the back office's routes: the whole settings tree, synchronous warehouse connections
    # (a ``with db.connection() as conn:`` block is one transaction) and the execution service
    root: Settings
    db: ConnectionPool
    commands: RouteCommands
    # the api's own asynchronous connections (autocommit), for a hot route doing one statement
    pool: AsyncConnectionPool
    # the PSPs by name (the card provider and its siblings), for deposits and their webhooks
    psps: Mapping[str, Provider]

    @property
    def request_limit(self) -> Limit:
        return Limit(self.settings.requests_per_second, self.settings.request_burst)

    @property
    def order_limit(self) -> Limit:
        return Limit(self.settings.orders_per_second, self.settings.order_burst)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]

oauth2 = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    scopes={"read": "Read accounts and market data", "trade": "Place and change orders"},
    auto_error=False,
)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key created at /v1/api-keys."
)


async def _identified(
    services: ServicesDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    if api_key:
        return await services.auth.from_api_key(api_key)
    if token:
        return services.auth.from_access_token(token)
    raise unauthorized("not_authenticated", "send a bearer token or an X-API-Key header")


Identified = Annotated[Principal, Depends(_identified)]


def _request_bucket(services: Services, principal: Principal) -> tuple[str, Limit]:
    return f"rl:{principal.limit_key}", services.request_limit


async def _principal(services: ServicesDep, principal: Identified) -> Principal:
    await services.limiter.check([_request_bucket(services, principal)], "requests")
    return principal


def _needs(scope: str, principal: Principal) -> Principal:
    if scope not in principal.scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            f"this call needs the {scope} scope",
            {"required_scope": scope},
        )
    return principal


async def _reader(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    return _needs("read", principal)


async def _trader(principal: Identified) -> Principal:
    # Rate-limited together with the account's order bucket in _tradable_account.
    return _needs("trade", principal)


AnyPrincipal = Annotated[Principal, Depends(_principal)]


def _session(principal: AnyPrincipal) -> Principal:
    if principal.key_id is not None:
        raise ApiError(403, "forbidden", "API keys cannot change credentials; log in instead")
    return principal


# a login session's principal (the portal's credential, account and money routes), no API key
Session = Annotated[Principal, Depends(_session)]
Reader = Annotated[Principal, Depends(_reader)]
Trader = Annotated[Principal, Depends(_trader)]
AccountId = Annotated[int, Path(ge=1, le=ID_MAX, description="Trading account id.")]
ResourceId = Annotated[int, Path(ge=1, le=ID_MAX)]


async def _readable_account(
    services: ServicesDep, principal: Reader, account_id: AccountId
) -> OwnedAccount:
    return await services.accounts.get(principal, account_id)


async def _tradable_account(
    services: ServicesDep, principal: Trader, account_id: AccountId
) -> OwnedAccount:
    account = await services.accounts.get(principal, account_id)
    buckets = [
        _request_bucket(services, principal),
        (f"rl:account:{account.id}", services.order_limit),
    ]
    await services.limiter.check(buckets, "requests or orders")
    return account


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description="Your key for this request: a retry with the same key returns the first "
        "result instead of acting twice (per account and kind of request); the same key on a "
        "different request is 409 idempotency_conflict.",
    ),
]
ReadableAccount = Annotated[OwnedAccount, Depends(_readable_account)]
TradableAccount = Annotated[OwnedAccount, Depends(_tradable_account)]


@dataclass(frozen=True, slots=True)
class Period:
    """A time range of a history query: from start (inclusive) to end (exclusive)."""

    start: datetime
    end: datetime


def _period(
    start: Annotated[AwareDatetime, Query(description="Inclusive.")],
    end: Annotated[AwareDatetime, Query(description="Exclusive; after start.")],
) -> Period:
    # One rule for every history (deals, statements, candles): a backwards or empty range is
    # a mistake in the request, not an empty answer.
    if end <= start:
        raise invalid("end", "query", "end must be after start")
    return Period(start, end)


PeriodQuery = Annotated[Period, Depends(_period)]
