"""What the warehouse holds about one of the caller's accounts, as the execution service
journaled it: open positions, orders, deals (keyset-paged, :mod:`api.paging`) and statements.

Callers pass an account already resolved through :class:`api.accounts.Accounts` (so it is
the caller's); every query names it. Figures leave here in the api's formats: money at the
account currency's minor units, prices and volumes at the symbol's digits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.accounts import OwnedAccount
from api.errors import not_found
from api.formats import SymbolDigits, fixed, money, optional_fixed, plain
from api.idempotency import client_order_id_of
from api.market import Market
from api.paging import Page, at_micros, micros
from api.schemas import Deal, DealPage, Order, Statement
from execution.contracts import OrderState

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
_WORKING = ["NEW", "PENDING", "PARTIALLY_FILLED"]
_MAX_ORDERS = 500

_DEALS_SQL = """
    SELECT d.id, d.order_id, d.position_id, i.symbol, lower(d.side) AS side,
           lower(d.entry) AS entry, d.volume, d.price, d.profit, d.commission, d.swap, d.fee,
           d.reason, d.executed_at
    FROM deals d JOIN instruments i ON i.id = d.instrument_id
    WHERE d.trading_account_id = %(account)s
      AND d.executed_at >= %(start)s AND d.executed_at < %(end)s
      AND (%(after_time)s::timestamptz IS NULL
           OR (d.executed_at, d.id) > (%(after_time)s::timestamptz, %(after_id)s))
    ORDER BY d.executed_at, d.id
    LIMIT %(limit)s
"""
_TOTALS_SQL = """
    SELECT count(*) AS deal_count, coalesce(sum(volume), 0) AS volume,
           coalesce(sum(profit), 0) AS profit, coalesce(sum(commission), 0) AS commission,
           coalesce(sum(swap), 0) AS swap, coalesce(sum(fee), 0) AS fee
    FROM deals
    WHERE trading_account_id = %s AND executed_at >= %s AND executed_at < %s
"""
_ORDERS_SQL = """
    SELECT o.id, o.client_order_id, o.request_id, i.symbol, lower(o.type) AS type,
           lower(o.side) AS side, lower(o.time_in_force) AS tif, o.status, o.volume,
           o.filled_volume, o.price, o.stop_loss AS sl, o.take_profit AS tp, o.expires_at,
           o.position_id, lower(o.reject_code) AS reject_code, o.created_at, o.updated_at
    FROM orders o JOIN instruments i ON i.id = o.instrument_id
    WHERE o.trading_account_id = %(account)s
      AND (NOT %(working)s OR o.status = ANY(%(statuses)s))
      AND (%(order)s::bigint IS NULL OR o.id = %(order)s)
    ORDER BY o.id DESC LIMIT %(limit)s
"""


class History:
    def __init__(self, pool: AsyncConnectionPool, market: Market) -> None:
        self._pool = pool
        self._market = market

    async def _rows(self, query: str, params: Any) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()

    async def open_positions(self, account_id: int) -> list[dict[str, Any]]:
        """The journaled open positions, as stored (see :mod:`api.valuation`)."""
        return await self._rows(
            """
            SELECT p.id, i.symbol, lower(p.side) AS side, p.volume, p.open_price,
                   p.stop_loss AS sl, p.take_profit AS tp, p.swap, p.commission, p.opened_at
            FROM positions p JOIN instruments i ON i.id = p.instrument_id
            WHERE p.trading_account_id = %s AND p.status = 'OPEN'
            ORDER BY p.id
            """,
            (account_id,),
        )

    async def orders(
        self, account: OwnedAccount, *, working: bool, order_id: int | None = None
    ) -> list[Order]:
        rows = await self._rows(
            _ORDERS_SQL,
            {
                "account": account.id,
                "working": working,
                "statuses": _WORKING,
                "order": order_id,
                "limit": _MAX_ORDERS,
            },
        )
        return [_order(row, await self._market.digits_of(row["symbol"])) for row in rows]

    async def order(self, account: OwnedAccount, order_id: int) -> Order:
        found = await self.orders(account, working=False, order_id=order_id)
        if not found:
            raise not_found("order", order_id)
        return found[0]

    async def deals(
        self, account: OwnedAccount, start: datetime, end: datetime, page: Page
    ) -> DealPage:
        after = _decode_cursor(page.cursor) if page.cursor else None
        rows = await self._rows(
            _DEALS_SQL,
            {
                "account": account.id,
                "start": start,
                "end": end,
                "limit": page.limit + 1,
                "after_time": after[0] if after else None,
                "after_id": after[1] if after else 0,
            },
        )
        items = [
            _deal(row, await self._market.digits_of(row["symbol"]), account.currency)
            for row in rows[: page.limit]
        ]
        more = len(rows) > page.limit
        next_cursor = _encode_cursor(items[-1].executed_at, items[-1].id) if more else None
        return DealPage(items=items, next_cursor=next_cursor)

    async def statement(
        self, account: OwnedAccount, start: datetime, end: datetime, page: Page
    ) -> Statement:
        (totals,) = await self._rows(_TOTALS_SQL, (account.id, start, end))
        (held,) = await self._rows(
            "SELECT balance, credit FROM trading_accounts WHERE id = %s", (account.id,)
        )
        deals = await self.deals(account, start, end, page)
        currency = account.currency
        amounts = {k: money(totals[k], currency) for k in ("profit", "commission", "swap", "fee")}
        return Statement(
            account_id=account.id,
            currency=currency,
            start=start,
            end=end,
            deal_count=totals["deal_count"],
            volume=plain(totals["volume"]),
            net=money(sum(amounts.values(), Decimal(0)), currency),
            balance=money(held["balance"], currency),
            credit=money(held["credit"], currency),
            deals=deals,
            **amounts,
        )


def _order(row: dict[str, Any], digits: SymbolDigits) -> Order:
    return Order(
        id=row["id"],
        client_order_id=row["client_order_id"] or client_order_id_of(row["request_id"]),
        symbol=row["symbol"],
        type=row["type"],
        side=row["side"],
        tif=row["tif"],
        state=_STATE[row["status"]],
        volume=fixed(row["volume"], digits.volume),
        filled_volume=fixed(row["filled_volume"], digits.volume),
        price=optional_fixed(row["price"], digits.price),
        sl=optional_fixed(row["sl"], digits.price),
        tp=optional_fixed(row["tp"], digits.price),
        expires_at=row["expires_at"],
        position_id=row["position_id"],
        reject_code=row["reject_code"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _deal(row: dict[str, Any], digits: SymbolDigits, currency: str) -> Deal:
    return Deal(
        **row
        | {
            "volume": fixed(row["volume"], digits.volume),
            "price": fixed(row["price"], digits.price),
            "profit": money(row["profit"], currency),
            "commission": money(row["commission"], currency),
            "swap": money(row["swap"], currency),
            "fee": money(row["fee"], currency),
        }
    )


# A page of deals ends at a deal; the next starts after its (time, id).
def _encode_cursor(moment: datetime, deal_id: int) -> str:
    return f"{micros(moment)}-{deal_id}"


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    time, _, deal_id = cursor.partition("-")
    return at_micros(int(time)), int(deal_id)
