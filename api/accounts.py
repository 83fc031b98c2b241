"""The caller's trading accounts and what the warehouse holds about them: positions, orders,
deals and statements. Every query names the client, so another client's rows read as absent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.auth import Principal
from api.errors import not_found
from api.schemas import Account, Deal, DealPage, Order
from execution.contracts import OrderState

_ACCOUNT_SQL = """
    SELECT a.id, a.login, a.kind, a.currency, a.balance, a.credit, a.enabled,
           g.code AS "group", coalesce(a.leverage, g.leverage) AS leverage,
           g.client_category = 'retail' AS retail
    FROM trading_accounts a
    JOIN clients c ON c.id = a.client_id
    JOIN account_groups g ON g.id = a.account_group_id
    WHERE a.client_id = %(client)s AND c.brand_id = %(brand)s AND a.closed_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class OwnedAccount:
    id: int
    login: int
    kind: str
    currency: str
    group: str
    leverage: int
    retail: bool
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


# Journal statuses (warehouse) -> the contract's order states the api speaks.
_STATE = {
    "NEW": OrderState.ROUTED,
    "PENDING": OrderState.PLACED,
    "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
    "FILLED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELED,
    "REJECTED": OrderState.REJECTED,
    "EXPIRED": OrderState.EXPIRED,
}
_WORKING = ("NEW", "PENDING", "PARTIALLY_FILLED")


class Accounts:
    def __init__(self, pool: AsyncConnectionPool, cache_seconds: float = 5.0) -> None:
        self._pool = pool
        # Ownership is asked on every request; accounts rarely change hands, so a client's
        # list is kept briefly. A miss (a brand-new account) always re-reads.
        self._cache_seconds = cache_seconds
        self._cache: dict[int, tuple[float, dict[int, OwnedAccount]]] = {}

    async def owned(self, principal: Principal) -> dict[int, OwnedAccount]:
        cached = self._cache.get(principal.client_id)
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
                row["retail"],
                row["enabled"],
            )
            for row in rows
        }
        self._cache[principal.client_id] = (time.monotonic() + self._cache_seconds, accounts)
        return accounts

    async def get(self, principal: Principal, account_id: int) -> OwnedAccount:
        account = (await self.owned(principal)).get(account_id)
        if account is None:
            account = (await self._load(principal)).get(account_id)
        if account is None:
            raise not_found("account", account_id)
        return account

    async def money(self, account_id: int) -> tuple[Decimal, Decimal]:
        """(balance, credit) as journaled by the execution service."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT balance, credit FROM trading_accounts WHERE id = %s", (account_id,)
            )
            row = await cur.fetchone()
        assert row is not None
        return row[0], row[1]

    async def open_positions(self, account_id: int) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT p.id, i.symbol, lower(p.side) AS side, p.volume, p.open_price,
                       p.stop_loss AS sl, p.take_profit AS tp, p.swap, p.commission, p.opened_at
                FROM positions p JOIN instruments i ON i.id = p.instrument_id
                WHERE p.trading_account_id = %s AND p.status = 'OPEN'
                ORDER BY p.id
                """,
                (account_id,),
            )
            return await cur.fetchall()

    async def orders(
        self,
        account_id: int,
        *,
        working: bool,
        order_id: int | None = None,
        request_id: str | None = None,
    ) -> list[Order]:
        filters = ["o.trading_account_id = %(account)s"]
        if working:
            filters.append("o.status = ANY(%(working)s)")
        if order_id is not None:
            filters.append("o.id = %(order)s")
        if request_id is not None:
            filters.append("o.request_id = %(request)s")
        query = f"""
            SELECT o.id, o.client_order_id, o.request_id, i.symbol, lower(o.type) AS type,
                   lower(o.side) AS side, lower(o.time_in_force) AS tif, o.status, o.volume,
                   o.filled_volume, o.price, o.stop_loss AS sl, o.take_profit AS tp,
                   o.expires_at, o.position_id, lower(o.reject_code) AS reject_code,
                   o.created_at, o.updated_at
            FROM orders o JOIN instruments i ON i.id = o.instrument_id
            WHERE {" AND ".join(filters)}
            ORDER BY o.id DESC LIMIT 500
        """
        params = {
            "account": account_id,
            "working": list(_WORKING),
            "order": order_id,
            "request": request_id,
        }
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            rows = await cur.fetchall()
        return [_order(row) for row in rows]

    async def order(self, account_id: int, order_id: int) -> Order:
        found = await self.orders(account_id, working=False, order_id=order_id)
        if not found:
            raise not_found("order", order_id)
        return found[0]

    async def deals(
        self, account_id: int, start: datetime, end: datetime, limit: int, cursor: str | None
    ) -> DealPage:
        after = _decode_cursor(cursor) if cursor else None
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT d.id, d.order_id, d.position_id, i.symbol, lower(d.side) AS side,
                       lower(d.entry) AS entry, d.volume, d.price, d.profit, d.commission,
                       d.swap, d.fee, d.reason, d.executed_at
                FROM deals d JOIN instruments i ON i.id = d.instrument_id
                WHERE d.trading_account_id = %(account)s
                  AND d.executed_at >= %(start)s AND d.executed_at < %(end)s
                  AND (%(after_time)s::timestamptz IS NULL
                       OR (d.executed_at, d.id) > (%(after_time)s::timestamptz, %(after_id)s))
                ORDER BY d.executed_at, d.id
                LIMIT %(limit)s
                """,
                {
                    "account": account_id,
                    "start": start,
                    "end": end,
                    "limit": limit + 1,
                    "after_time": after[0] if after else None,
                    "after_id": after[1] if after else 0,
                },
            )
            rows = await cur.fetchall()
        items = [Deal.model_validate(row) for row in rows[:limit]]
        more = len(rows) > limit
        next_cursor = _encode_cursor(items[-1].executed_at, items[-1].id) if more else None
        return DealPage(items=items, next_cursor=next_cursor)

    async def deal_totals(self, account_id: int, start: datetime, end: datetime) -> dict[str, Any]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT count(*) AS deal_count, coalesce(sum(volume), 0) AS volume,
                       coalesce(sum(profit), 0) AS profit,
                       coalesce(sum(commission), 0) AS commission,
                       coalesce(sum(swap), 0) AS swap, coalesce(sum(fee), 0) AS fee
                FROM deals
                WHERE trading_account_id = %s AND executed_at >= %s AND executed_at < %s
                """,
                (account_id, start, end),
            )
            row = await cur.fetchone()
        assert row is not None
        return row


def client_order_id_of(request_id: str | None, account_id: int) -> str | None:
    """The client order id the api folded into a place command's request id, if any."""
    prefix = f"co:{account_id}:"
    if request_id and request_id.startswith(prefix):
        return request_id[len(prefix) :]
    return None


def place_request_id(account_id: int, client_order_id: str) -> str:
    # Per account: two clients may pick the same id, but the service dedups request ids per shard.
    return f"co:{account_id}:{client_order_id}"


def _order(row: dict[str, Any]) -> Order:
    request_id = row.pop("request_id")
    if row["client_order_id"] is None and request_id and request_id.startswith("co:"):
        row["client_order_id"] = request_id.split(":", 2)[2]
    row["state"] = _STATE[row.pop("status")]
    return Order.model_validate(row)


# A page ends at a deal; the next page starts after its (time, id). The cursor spells that
# position out (microseconds since 1970, the warehouse's resolution, and the deal id), so every
# cursor the schema admits is a position the query can start from.
CURSOR_PATTERN = r"^[0-9]{1,17}-[0-9]{1,18}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _encode_cursor(moment: datetime, deal_id: int) -> str:
    return f"{(moment - _EPOCH) // timedelta(microseconds=1)}-{deal_id}"


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    micros, _, deal_id = cursor.partition("-")
    return _EPOCH + timedelta(microseconds=int(micros)), int(deal_id)
