"""The staff's admin actions on a trading account, one function each, for a thin route to call
in its transaction: read the account within the staff member's brands, claim the request id,
send the command to the execution service, and write the audit record (before and after) and
the client's timeline row with it.

Money actions (balance correction, credit, bonus) above the brand's threshold are not sent:
they wait as a pending request for a second staff member (:mod:`.approvals`). The threshold
and the leverage cap of the client's jurisdiction are the brand's rules: the route passes
them in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice import audit
from backoffice.audit import Actor
from backoffice.commands import ExecutionCommands
from backoffice.trading import requests
from backoffice.trading.accounts import (
    BrandScope,
    TradingAccount,
    account_of_position,
    booked_deals,
    check_group,
    load_account,
    open_positions,
)
from backoffice.trading.errors import ExecutionRefused, NotStaff
from backoffice.trading.requests import AdminRequest
from backoffice.trading.rules import (
    check_amount,
    check_leverage,
    command_request_id,
    needs_approval,
    reply_json,
)
from execution import contracts as c

MakeCommand = Callable[[str], c.Command]  # the command, given its request id


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)  # decimals as their text


def staff_id(actor: Actor) -> int:
    if actor.type != "staff":
        raise NotStaff("only staff act on trading accounts", {"actor": actor.type})
    return int(actor.id)


def state(
    conn: psycopg.Connection[Any],
    account_id: int,
    brands: BrandScope,
    deal_ids: tuple[int, ...] = (),
) -> dict[str, Any]:
    """The account and its open positions as the warehouse holds them (and the deals an action
    booked): an audit record's before or after."""
    view: dict[str, Any] = {
        "account": load_account(conn, account_id, brands).view(),
        "positions": open_positions(conn, account_id),
    }
    if deal_ids:
        view["deals"] = booked_deals(conn, deal_ids)
    return view


def timeline(
    conn: psycopg.Connection[Any], request: AdminRequest, event: str, staff: int,
    payload: dict[str, Any],
) -> None:  # fmt: skip
    """The client's timeline row for an admin action."""
    conn.execute(
        """INSERT INTO crm_events (occurred_at, client_id, staff_user_id, event_type, channel,
               payload)
           VALUES (now(), %s, %s, %s, 'trading', %s)""",
        (
            request.client_id,
            staff,
            event,
            Jsonb(
                {"account_id": request.account_id, "request_id": request.request_id, **payload},
                dumps=_dumps,
            ),
        ),
    )


def execute(
    conn: psycopg.Connection[Any],
    commands: ExecutionCommands,
    brands: BrandScope,
    request: AdminRequest,
) -> tuple[c.Reply, dict[str, Any], dict[str, Any]]:
    """Send a request's command; its reply and the account before and after it."""
    before = state(conn, request.account_id, brands)
    reply = commands.execute(request.command)
    deal_ids = reply.deal_ids if isinstance(reply, c.Accepted) else ()
    after = state(conn, request.account_id, brands, deal_ids)
    return reply, before, after


def _act(
    conn: psycopg.Connection[Any],
    commands: ExecutionCommands,
    actor: Actor,
    brands: BrandScope,
    request_id: str,
    account: TradingAccount,
    action: str,
    make: MakeCommand,
    amount: Decimal | None = None,
    threshold: Decimal | None = None,
    comment: str = "",
) -> AdminRequest:
    staff = staff_id(actor)
    # a savepoint: a refused action leaves nothing, whatever the caller does with the error
    with conn.transaction():
        return _send(conn, commands, actor, brands, request_id, account, action, make, staff,
                     amount, threshold, comment)  # fmt: skip


def _send(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, request_id: str, account: TradingAccount, action: str,
    make: MakeCommand, staff: int, amount: Decimal | None, threshold: Decimal | None,
    comment: str,
) -> AdminRequest:  # fmt: skip
    """Claim the request id; send the command unless it waits for a checker."""
    waits = amount is not None and needs_approval(amount, threshold)
    claimed = requests.claim(
        conn, request_id, action, account, make(command_request_id(request_id)), staff,
        "pending" if waits else "executed", amount, comment,
    )  # fmt: skip
    request = claimed.request
    if not claimed.new:
        return request  # a retry: the first call's outcome stands
    if waits:
        asked = {"amount": amount, "currency": account.currency, "threshold": threshold,
                 "comment": comment}  # fmt: skip
        what = {"request_id": request_id, "account_id": account.account_id, **asked}
        audit.record(
            conn, actor, f"trading.{action}.requested", "admin_request", request.id, None, what
        )
        timeline(conn, request, f"trading.{action}.requested", staff, asked)
        return request
    reply, before, after = execute(conn, commands, brands, request)
    if isinstance(reply, c.Rejected):
        raise ExecutionRefused(reply.code.value, reply.message, {"request_id": request_id})
    request = requests.finish(conn, request, "executed", reply_json(reply))
    audit.record(conn, actor, f"trading.{action}", "trading_account", account.account_id,
                 before, after)  # fmt: skip
    timeline(conn, request, f"trading.{action}", staff, {"before": before, "after": after})
    return request


# --- settings -------------------------------------------------------------------------------


def change_leverage(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, leverage: int | None,
    cap: int | None,
) -> AdminRequest:  # fmt: skip
    """Set the account's own leverage (None: back to its group's) within `cap`, the brand's
    cap for the client's jurisdiction; the execution service keeps it within the group's
    leverage and its retail caps, and refuses one that would stop the account out."""
    check_leverage(leverage, cap)
    account = load_account(conn, account_id, brands)
    return _act(
        conn, commands, actor, brands, request_id, account, "change_leverage",
        lambda rid: c.UpdateAccount(request_id=rid, account_id=account_id, leverage=leverage),
    )  # fmt: skip


def change_group(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, group: str,
) -> AdminRequest:  # fmt: skip
    """Move the account to another group of its brand (the execution service also holds it
    to the account's kind and currency, and its position mode while it trades)."""
    account = load_account(conn, account_id, brands)
    check_group(conn, account, group)
    return _act(
        conn, commands, actor, brands, request_id, account, "change_group",
        lambda rid: c.UpdateAccount(request_id=rid, account_id=account_id, group=group),
    )  # fmt: skip


def set_trading_enabled(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, enabled: bool,
) -> AdminRequest:  # fmt: skip
    account = load_account(conn, account_id, brands)
    return _act(
        conn, commands, actor, brands, request_id, account, "set_trading_enabled",
        lambda rid: c.UpdateAccount(request_id=rid, account_id=account_id, enabled=enabled),
    )  # fmt: skip


# --- the dealer -----------------------------------------------------------------------------


def dealer_close(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, position_id: int, volume: Decimal | None = None,
) -> AdminRequest:  # fmt: skip
    """Close a position (or `volume` lots of it) at the client price: a deal with reason
    ``dealer``, whatever the account's switch or KYC level."""
    account = load_account(conn, account_of_position(conn, position_id), brands)
    dealer = actor.id
    return _act(
        conn, commands, actor, brands, request_id, account, "dealer_close",
        lambda rid: c.DealerClose(request_id=rid, account_id=account.account_id,
                                  position_id=position_id, volume=volume, dealer=dealer),
    )  # fmt: skip


def dealer_close_all(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int,
) -> AdminRequest:  # fmt: skip
    """Close every open position of the account (all or none)."""
    account = load_account(conn, account_id, brands)
    dealer = actor.id
    return _act(
        conn, commands, actor, brands, request_id, account, "dealer_close_all",
        lambda rid: c.DealerClose(request_id=rid, account_id=account_id, dealer=dealer),
    )  # fmt: skip


# --- money ----------------------------------------------------------------------------------


def _money(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, request_id: str, account_id: int, action: str, kind: c.BalanceKind,
    amount: Decimal, comment: str, threshold: Decimal | None,
) -> AdminRequest:  # fmt: skip
    check_amount(amount, positive=action == "bonus")
    account = load_account(conn, account_id, brands)
    text = f"bonus: {comment}" if action == "bonus" else comment
    return _act(
        conn, commands, actor, brands, request_id, account, action,
        lambda rid: c.BalanceOperation(request_id=rid, account_id=account_id, kind=kind,
                                       amount=amount, comment=text[:200]),
        amount, threshold, comment,
    )  # fmt: skip


def balance_correction(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, amount: Decimal, comment: str,
    threshold: Decimal | None,
) -> AdminRequest:  # fmt: skip
    """Correct the balance by `amount` (signed); above `threshold` (the brand's) it waits for
    a second staff member."""
    return _money(conn, commands, actor, brands, request_id, account_id, "balance_correction",
                  c.BalanceKind.CORRECTION, amount, comment, threshold)  # fmt: skip


def grant_credit(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, amount: Decimal, comment: str,
    threshold: Decimal | None,
) -> AdminRequest:  # fmt: skip
    """Add credit (negative: take it back); four eyes above `threshold`."""
    return _money(conn, commands, actor, brands, request_id, account_id, "credit",
                  c.BalanceKind.CREDIT, amount, comment, threshold)  # fmt: skip


def grant_bonus(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, amount: Decimal, comment: str,
    threshold: Decimal | None,
) -> AdminRequest:  # fmt: skip
    """A bonus: credit the client trades with but cannot withdraw (booked against the
    brand's bonus/credit ledger account), positive; four eyes above `threshold`."""
    return _money(conn, commands, actor, brands, request_id, account_id, "bonus",
                  c.BalanceKind.CREDIT, amount, comment, threshold)  # fmt: skip
