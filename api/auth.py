"""Who is calling: password logins with rotating refresh tokens, API keys, and the principal
every request is scoped to (one client of one brand, with scopes)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api import security
from api.errors import ApiError, not_found, unauthorized
from api.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, TokenPair

ALL_SCOPES = frozenset(security.SCOPES)


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: int
    brand_id: int
    scopes: frozenset[str]
    key_id: str | None = None  # set when the caller used an API key

    @property
    def limit_key(self) -> str:
        """The rate-limit bucket: per API key, or per client for token sessions."""
        return f"key:{self.key_id}" if self.key_id else f"client:{self.client_id}"


class Authenticator:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        key: bytes,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        key_cache_seconds: float = 10.0,
    ) -> None:
        self._pool = pool
        self._key = key
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        # Verified API keys for a few seconds: an algo's every request must not cost a query.
        # A revoked key therefore works at most this long in processes that just saw it.
        self._key_cache_seconds = key_cache_seconds
        self._keys: dict[str, tuple[float, bytes, Principal]] = {}

    # --- password flow --------------------------------------------------------------------

    async def login(self, email: str, password: str) -> TokenPair:
        rows: list[dict[str, Any]] = []
        if "\x00" not in email and len(email) <= 320:
            async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """
                    SELECT id, brand_id, password_hash FROM clients
                    WHERE lower(email) = lower(%s) AND status = 'active'
                    ORDER BY id
                    """,
                    (email,),
                )
                rows = await cur.fetchall()
        for row in rows or [{"password_hash": None}]:
            if security.verify_password(password, row["password_hash"]):
                return await self._issue(row["id"], row["brand_id"], None)
        raise unauthorized("invalid_credentials", "wrong e-mail or password")

    async def refresh(self, token: str) -> TokenPair:
        try:
            client_id, token_id = security.decode_refresh_token(self._key, token)
        except security.InvalidToken as error:
            raise unauthorized(error.code, str(error)) from None
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT t.family_id, t.revoked_at, c.brand_id, c.status
                FROM api_refresh_tokens t JOIN clients c ON c.id = t.client_id
                WHERE t.id = %s AND t.client_id = %s FOR UPDATE OF t
                """,
                (token_id, client_id),
            )
            row = await cur.fetchone()
            if row is None:
                raise unauthorized("invalid_token", "unknown refresh token")
            if row["revoked_at"] is not None:
                # Reuse of a rotated token: someone else holds the family; end it.
                await cur.execute(
                    "UPDATE api_refresh_tokens SET revoked_at = now() "
                    "WHERE family_id = %s AND revoked_at IS NULL",
                    (row["family_id"],),
                )
                await conn.commit()
                raise unauthorized("token_reused", "refresh token already used; log in again")
            if row["status"] != "active":
                raise unauthorized("client_inactive", "the client is not active")
            await cur.execute(
                "UPDATE api_refresh_tokens SET revoked_at = now() WHERE id = %s", (token_id,)
            )
        return await self._issue(client_id, row["brand_id"], row["family_id"])

    async def _issue(self, client_id: int, brand_id: int, family: Any) -> TokenPair:
        token_id = uuid.uuid4()
        access, _ = security.issue_access_token(
            self._key, client_id, brand_id, ALL_SCOPES, self._access_ttl
        )
        refresh, expires = security.issue_refresh_token(
            self._key, client_id, token_id, self._refresh_ttl
        )
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO api_refresh_tokens (id, family_id, client_id, expires_at) "
                "VALUES (%s, %s, %s, %s)",
                (token_id, family or token_id, client_id, expires),
            )
        return TokenPair(
            access_token=access,
            expires_in=int(self._access_ttl.total_seconds()),
            refresh_token=refresh,
            refresh_expires_in=int(self._refresh_ttl.total_seconds()),
            scope=" ".join(sorted(ALL_SCOPES)),
        )

    # --- resolving a request's credentials -------------------------------------------------

    def from_access_token(self, token: str) -> Principal:
        try:
            claims = security.decode_access_token(self._key, token)
        except security.InvalidToken as error:
            raise unauthorized(error.code, str(error)) from None
        return Principal(claims.client_id, claims.brand_id, claims.scopes)

    async def from_api_key(self, token: str) -> Principal:
        parts = security.split_api_key(token)
        if parts is None:
            raise unauthorized("invalid_api_key", "malformed API key")
        key_id, secret = parts
        cached = self._keys.get(key_id)
        if cached is not None and cached[0] > time.monotonic():
            _, digest, principal = cached
        else:
            async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """
                    SELECT k.secret_sha256, k.scopes, k.client_id, c.brand_id FROM api_keys k
                    JOIN clients c ON c.id = k.client_id
                    WHERE k.key_id = %s AND k.revoked_at IS NULL AND c.status = 'active'
                    """,
                    (key_id,),
                )
                row = await cur.fetchone()
            if row is None:
                raise unauthorized("invalid_api_key", "unknown or revoked API key")
            digest = bytes(row["secret_sha256"])
            principal = Principal(
                row["client_id"], row["brand_id"], frozenset(row["scopes"]), key_id
            )
            self._keys[key_id] = (time.monotonic() + self._key_cache_seconds, digest, principal)
        if not security.secret_matches(secret, digest):
            raise unauthorized("invalid_api_key", "unknown or revoked API key")
        return principal

    # --- API key management ----------------------------------------------------------------

    async def create_key(self, principal: Principal, body: ApiKeyCreate) -> ApiKeyCreated:
        if principal.key_id is not None:
            raise ApiError(403, "forbidden", "API keys cannot create API keys; log in instead")
        new = security.new_api_key()
        scopes = sorted({s.value for s in body.scopes})
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                INSERT INTO api_keys (client_id, key_id, secret_sha256, name, scopes)
                VALUES (%s, %s, %s, %s, %s)
                RETURNING key_id, name, scopes, created_at, revoked_at
                """,
                (principal.client_id, new.key_id, new.secret_sha256, body.name, scopes),
            )
            row = await cur.fetchone()
        assert row is not None
        return ApiKeyCreated(**row, api_key=new.token)

    async def list_keys(self, principal: Principal) -> list[ApiKey]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT key_id, name, scopes, created_at, revoked_at FROM api_keys "
                "WHERE client_id = %s ORDER BY id",
                (principal.client_id,),
            )
            return [ApiKey(**row) for row in await cur.fetchall()]

    async def revoke_key(self, principal: Principal, key_id: str) -> None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, %s) "
                "WHERE client_id = %s AND key_id = %s",
                (datetime.now(UTC), principal.client_id, key_id),
            )
            if cur.rowcount == 0:
                raise not_found("API key", key_id)
        self._keys.pop(key_id, None)
