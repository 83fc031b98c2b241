"""The api's composition root: one process's connections and services, and the FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from redis.asyncio import Redis

from api import errors, staff_auth
from api.accounts import Accounts
from api.auth import Authenticator
from api.backoffice import RouteCommands
from api.body_limit import BodyLimit
from api.deps import Services
from api.execution_client import ExecutionClient
from api.history import History
from api.market import Market
from api.observability import RequestObservability
from api.ratelimit import RateLimiter
from api.readiness import Readiness
from api.routers import (
    accounts,
    admin_aml,
    admin_audit,
    admin_auth,
    admin_brands,
    admin_crm,
    admin_kyc,
    admin_payments,
    admin_reconciliation,
    admin_staff,
    admin_trading,
    auth,
    health,
    leads,
    market,
    methods,
    payments,
    portal,
    sms_webhooks,
    stream,
    trading,
    wallets,
    webhooks,
    withdrawals,
)
from api.security import signing_key
from api.streams import Hub
from backoffice.payments.providers import providers as psp_providers
from brokerstack.settings import Settings, load_settings
from warehouse.db import libpq_url

DESCRIPTION = """
Trading API of brokerstack: instruments, prices, accounts, orders, positions, deals, and a
WebSocket (`/v1/stream`) for live quotes and account events.

**Auth.** Log in at `/v1/auth/token` (OAuth2 password flow) for a short-lived bearer token
and a refresh token, or create an API key (`/v1/api-keys`, scopes `read` / `trade`) and send
it as `X-API-Key`. Everything is scoped to your own accounts: another client's account is
simply not found.

**Errors.** Every error has one body: `{"error": {"code", "message", "details"}}`. Validation
errors list each bad field in `details.fields`; execution rejects carry the execution
service's reject code (`no_money`, `market_closed`, ...). Rate limits answer 429 with
`Retry-After`.

**Idempotency.** Send a `client_order_id` with every order: a retry with the same id returns
the first order, never a second one.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    root = settings or load_settings()
    config = root.api

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = libpq_url(root.database_dsn)
        pool = AsyncConnectionPool(
            database,
            min_size=1,
            max_size=config.db_pool_size,
            open=False,
            # after a database restart, a pooled connection is found dead before it is used
            check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True},
        )
        candle_pool = ConnectionPool(database, min_size=0, max_size=2, open=False)
        backoffice_pool = ConnectionPool(
            database,
            min_size=0,
            max_size=config.db_pool_size,
            open=False,
            check=ConnectionPool.check_connection,
        )
        redis = Redis.from_url(root.redis_dsn, max_connections=256)
        await pool.open(wait=True)
        candle_pool.open()
        backoffice_pool.open()
        key = signing_key(config.signing_key, root.data_path)
        execution = ExecutionClient(redis, config.commands_stream, config.execution_timeout_seconds)
        hub = Hub(redis, config.quote_max_age_ns)
        market = Market(pool, candle_pool)
        await execution.start()
        await hub.start()
        app.state.services = Services(
            settings=config,
            redis=redis,
            auth=Authenticator(
                pool,
                key,
                timedelta(seconds=config.access_token_seconds),
                timedelta(seconds=config.refresh_token_seconds),
            ),
            accounts=Accounts(pool),
            history=History(pool, market),
            market=market,
            execution=execution,
            limiter=RateLimiter(redis),
            hub=hub,
            readiness=Readiness(
                pool, redis, config.command_shard, config.execution_heartbeat_max_age_seconds
            ),
            root=root,
            db=backoffice_pool,
            commands=RouteCommands(execution),
            pool=pool,
            psps=psp_providers(root),
        )
        try:
            yield
        finally:
            await hub.stop()
            for psp in app.state.services.psps.values():
                psp.close()
            await execution.stop()
            await redis.aclose()
            candle_pool.close()
            backoffice_pool.close()
            await pool.close()

    app = FastAPI(
        title="brokerstack trading API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(errors.known_query_only)],
    )
    # a KYC document (and its multipart framing) may be larger than any other request
    upload_limit = root.backoffice.documents_max_bytes + 64 * 1024
    app.add_middleware(
        BodyLimit,
        max_bytes=config.max_body_bytes,
        larger={portal.DOCUMENTS_PATH: max(upload_limit, config.max_body_bytes)},
    )
    app.add_middleware(RequestObservability)  # outermost: 413s and errors get an id too
    errors.install(app)
    staff_auth.install(app)
    routers = (
        health, auth, market, accounts, trading, stream, leads, sms_webhooks, webhooks, payments,
        portal, wallets, withdrawals, admin_auth, admin_staff, admin_brands, admin_audit,
        admin_kyc, admin_aml, admin_crm, admin_trading, admin_payments, admin_reconciliation,
        methods,  # last: OPTIONS for every path the others serve
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    return app
