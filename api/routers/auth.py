"""Log in (OAuth2 password flow), refresh, and manage API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import AnyPrincipal, ServicesDep
from api.errors import ERROR_RESPONSES
from api.ratelimit import Limit
from api.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, RefreshRequest, TokenPair

LOGIN_LIMIT = Limit(per_second=0.2, burst=10)

router = APIRouter(prefix="/v1", tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/auth/token", response_model=TokenPair, summary="Log in with e-mail and password")
async def token(
    services: ServicesDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenPair:
    # Per e-mail, so guessing one client's password is slow whatever address it comes from.
    bucket = f"rl:login:{form.username.lower()[:320]}"
    await services.limiter.check([(bucket, LOGIN_LIMIT)], "login attempts")
    return await services.auth.login(form.username, form.password)


@router.post("/auth/refresh", response_model=TokenPair, summary="Trade a refresh token")
async def refresh(services: ServicesDep, body: RefreshRequest) -> TokenPair:
    return await services.auth.refresh(body.refresh_token)


@router.get("/api-keys", response_model=list[ApiKey], summary="Your API keys")
async def list_keys(services: ServicesDep, principal: AnyPrincipal) -> list[ApiKey]:
    return await services.auth.list_keys(principal)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the secret is shown once)",
)
async def create_key(
    services: ServicesDep, principal: AnyPrincipal, body: ApiKeyCreate
) -> ApiKeyCreated:
    return await services.auth.create_key(principal, body)


@router.delete(
    "/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key"
)
async def revoke_key(
    services: ServicesDep,
    principal: AnyPrincipal,
    key_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,64}$")],
) -> None:
    await services.auth.revoke_key(principal, key_id)
