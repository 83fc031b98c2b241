"""The caller's trading accounts: every lookup names the client and the brand, so another
client's account (or a closed one) reads as absent."""

from __future__ import annotations

import time
from dataclasses import dataclass

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.auth import Principal
from api.errors import not_found
from api.schemas import Account

_ACCOUNT_SQL = """
    SELECT a.id, a.login, a.kind, a.currency, a.enabled,
           g.code AS "group", coalesce(a.leverage, g.leverage) AS leverage
    FROM trading_accounts a
    JOIN clients c ON c.id = a.client_id
    JOIN account_groups g ON g.id = a.account_group_id
    WHERE a.client_id = %(client)s AND c.brand_id = %(brand)s AND c.status = 'active'
      AND a.closed_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class OwnedAccount:
    id: int
    login: int
    kind: str
    currency: str
    group: str
    leverage: int
    enabled: bool

    def public(self) -> Account:
        return Account(
            id=self.id,
            login=self.login,
            kind=self.kind,
            currency=self.currency,
            group=self.group,
            leverage=self.leverage,
            enabled=self.enabled,
        )


class Accounts:
    def __init__(self, pool: AsyncConnectionPool, cache_seconds: float = 5.0) -> None:
        self._pool = pool
        # Ownership is asked on every request; accounts rarely change hands, so a client's
        # list is kept briefly. A miss (a brand-new account) always re-reads.
        self._cache_seconds = cache_seconds
        # by (client, brand): the brand is part of who the caller is
        self._cache: dict[tuple[int, int], tuple[float, dict[int, OwnedAccount]]] = {}

    async def owned(self, principal: Principal) -> dict[int, OwnedAccount]:
        cached = self._cache.get((principal.client_id, principal.brand_id))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return await self._load(principal)

    async def _load(self, principal: Principal) -> dict[int, OwnedAccount]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                _ACCOUNT_SQL + " ORDER BY a.id",
                {"client": principal.client_id, "brand": principal.brand_id},
            )
            rows = await cur.fetchall()
        accounts = {
            row["id"]: OwnedAccount(
                row["id"],
                row["login"],
                row["kind"],
                row["currency"],
                row["group"],
                row["leverage"],
                row["enabled"],
            )
            for row in rows
        }
        key = (principal.client_id, principal.brand_id)
        self._cache[key] = (time.monotonic() + self._cache_seconds, accounts)
        return accounts

    async def get(self, principal: Principal, account_id: int) -> OwnedAccount:
        account = (await self.owned(principal)).get(account_id)
        if account is None:
            account = (await self._load(principal)).get(account_id)
        if account is None:
            raise not_found("account", account_id)
        return account
