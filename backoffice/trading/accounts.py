"""Reading what an admin action works on: the trading account (within the staff member's
brands), its open positions and the deals an action booked, as the audit's before and after.

The execution service journals every change on these rows before it answers, so reading them
again after its answer gives the state the change left."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from backoffice.trading.errors import AccountNotFound, GroupNotFound, PositionNotFound

# the brands a staff member works for; None: every brand
BrandScope = Collection[int] | None


@dataclass(frozen=True, slots=True)
class TradingAccount:
    account_id: int
    login: int
    client_id: int
    brand_id: int
    kind: str
    currency: str
    group: str  # the group's code (the execution service's name for it)
    leverage: int | None  # the account's own; None: its group's
    group_leverage: int
    enabled: bool
    balance: Decimal
    credit: Decimal

    def view(self) -> dict[str, Any]:
        """What the audit keeps of the account."""
        return {
            "group": self.group,
            "leverage": self.leverage,
            "effective_leverage": self.leverage or self.group_leverage,
            "enabled": self.enabled,
            "balance": self.balance,
            "credit": self.credit,
            "currency": self.currency,
        }


_ACCOUNT = """
    SELECT a.id, a.login, a.client_id, c.brand_id, a.kind, a.currency, g.code, a.leverage,
           g.leverage, a.enabled, a.balance, a.credit
    FROM trading_accounts a
    JOIN clients c ON c.id = a.client_id
    JOIN account_groups g ON g.id = a.account_group_id
    WHERE a.closed_at IS NULL AND a.id = %s AND (%s::bigint[] IS NULL OR c.brand_id = ANY(%s))
"""


def _brands(brands: BrandScope) -> list[int] | None:
    return None if brands is None else list(brands)


def load_account(
    conn: psycopg.Connection[Any], account_id: int, brands: BrandScope
) -> TradingAccount:
    scope = _brands(brands)
    row = conn.execute(_ACCOUNT, (account_id, scope, scope)).fetchone()
    if row is None:
        raise AccountNotFound(f"no trading account {account_id}", {"account_id": account_id})
    return TradingAccount(*row)


def account_of_position(conn: psycopg.Connection[Any], position_id: int) -> int:
    row = conn.execute(
        "SELECT trading_account_id FROM positions WHERE id = %s AND status = 'OPEN'",
        (position_id,),
    ).fetchone()
    if row is None:
        raise PositionNotFound(f"no open position {position_id}", {"position_id": position_id})
    return int(row[0])


def check_group(conn: psycopg.Connection[Any], account: TradingAccount, code: str) -> None:
    """A group of the account's brand (kind and currency the execution service checks)."""
    row = conn.execute(
        "SELECT 1 FROM account_groups WHERE brand_id = %s AND code = %s AND enabled",
        (account.brand_id, code),
    ).fetchone()
    if row is None:
        raise GroupNotFound(f"no group {code!r} in the account's brand", {"group": code})


def open_positions(
    conn: psycopg.Connection[Any], account_id: int, position_id: int | None = None
) -> list[dict[str, Any]]:
    return [
        {"position_id": pid, "symbol": symbol, "side": side, "volume": volume,
         "open_price": price}
        for pid, symbol, side, volume, price in conn.execute(
            """SELECT p.id, i.symbol, p.side, p.volume, p.open_price FROM positions p
               JOIN instruments i ON i.id = p.instrument_id
               WHERE p.trading_account_id = %s AND p.status = 'OPEN'
                 AND (%s::bigint IS NULL OR p.id = %s)
               ORDER BY p.id""",
            (account_id, position_id, position_id),
        )
    ]  # fmt: skip


def booked_deals(conn: psycopg.Connection[Any], deal_ids: Collection[int]) -> list[dict[str, Any]]:
    return [
        {"deal_id": did, "position_id": pid, "side": side, "volume": volume, "price": price,
         "profit": profit, "reason": reason}
        for did, pid, side, volume, price, profit, reason in conn.execute(
            """SELECT id, position_id, side, volume, price, profit, reason FROM deals
               WHERE id = ANY(%s) ORDER BY id""",
            (list(deal_ids),),
        )
    ]  # fmt: skip
