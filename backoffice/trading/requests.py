"""``admin_requests``: every admin action on a trading account, keyed by the caller's request
id. The first call claims the id; a retry finds the row and gets its outcome instead of a
second execution. Money actions above the brand's threshold wait there as ``pending`` for a
second staff member."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from backoffice.trading.accounts import BrandScope, TradingAccount
from backoffice.trading.errors import RequestIdReused, RequestNotFound
from backoffice.trading.rules import command_from_json, command_json
from execution import contracts as c

Status = Literal["pending", "approved", "rejected", "executed", "failed"]

_COLUMNS = """id, request_id, action, trading_account_id, client_id, brand_id, status,
    maker_id, checker_id, amount, currency, command, comment, reply, decision_reason"""


@dataclass(frozen=True, slots=True)
class AdminRequest:
    id: int
    request_id: str
    action: str
    account_id: int
    client_id: int
    brand_id: int
    status: Status
    maker_id: int
    checker_id: int | None
    amount: Decimal | None
    currency: str | None
    command: c.Command
    comment: str
    reply: dict[str, Any] | None  # the execution service's answer (contract JSON)
    decision_reason: str | None


def _request(row: tuple[Any, ...]) -> AdminRequest:
    values = list(row)
    values[11] = command_from_json(values[11])
    return AdminRequest(*values)


@dataclass(frozen=True, slots=True)
class Claim:
    request: AdminRequest
    new: bool  # False: the request id was claimed before (this is that request)


def claim(
    conn: psycopg.Connection[Any],
    request_id: str,
    action: str,
    account: TradingAccount,
    command: c.Command,
    maker_id: int,
    status: Status,
    amount: Decimal | None = None,
    comment: str = "",
) -> Claim:
    """Insert the request, or find the one that holds its id (the same action on the same
    account with the same command, or `RequestIdReused`)."""
    stored = command_json(command)
    row = conn.execute(
        f"""INSERT INTO admin_requests (request_id, brand_id, client_id, trading_account_id,
                action, amount, currency, command, comment, status, maker_id, decided_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                    CASE WHEN %s = 'pending' THEN NULL ELSE now() END)
            ON CONFLICT (request_id) DO NOTHING
            RETURNING {_COLUMNS}""",
        (request_id, account.brand_id, account.client_id, account.account_id, action, amount,
         None if amount is None else account.currency, Jsonb(stored), comment, status,
         maker_id, status),
    ).fetchone()  # fmt: skip
    if row is not None:
        return Claim(_request(row), new=True)
    first = load(conn, request_id, None)
    if (first.action, first.account_id, command_json(first.command)) != (
        action, account.account_id, stored,
    ):  # fmt: skip
        raise RequestIdReused(
            f"request id {request_id!r} was used for another action",
            {"request_id": request_id, "action": first.action},
        )
    return Claim(first, new=False)


def load(
    conn: psycopg.Connection[Any], request_id: str, brands: BrandScope, lock: bool = False
) -> AdminRequest:
    scope = None if brands is None else list(brands)
    row = conn.execute(
        f"""SELECT {_COLUMNS} FROM admin_requests
            WHERE request_id = %s AND (%s::bigint[] IS NULL OR brand_id = ANY(%s))
            {"FOR UPDATE" if lock else ""}""",
        (request_id, scope, scope),
    ).fetchone()
    if row is None:
        raise RequestNotFound(f"no admin request {request_id!r}", {"request_id": request_id})
    return _request(row)


def finish(
    conn: psycopg.Connection[Any],
    request: AdminRequest,
    status: Status,
    reply: dict[str, Any] | None,
    checker_id: int | None = None,
    reason: str | None = None,
) -> AdminRequest:
    row = conn.execute(
        f"""UPDATE admin_requests SET status = %s, reply = %s, checker_id = %s,
                decision_reason = %s, decided_at = now()
            WHERE id = %s RETURNING {_COLUMNS}""",
        (status, None if reply is None else Jsonb(reply), checker_id, reason, request.id),
    ).fetchone()
    assert row is not None
    return _request(row)


def pending_requests(conn: psycopg.Connection[Any], brands: BrandScope) -> list[AdminRequest]:
    """The requests waiting for a checker, oldest first (the approval queue)."""
    scope = None if brands is None else list(brands)
    return [
        _request(row)
        for row in conn.execute(
            f"""SELECT {_COLUMNS} FROM admin_requests
                WHERE status = 'pending' AND (%s::bigint[] IS NULL OR brand_id = ANY(%s))
                ORDER BY created_at, id""",
            (scope, scope),
        )
    ]
