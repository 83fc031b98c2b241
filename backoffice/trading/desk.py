"""The trading admin actions with the brand's rules applied, for the staff routes: each looks
up what :mod:`.actions` takes from the brand (the leverage cap of the client's country, the
maker-checker threshold) and calls the action. One function per route."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from backoffice.audit import Actor
from backoffice.brands import brand_rules
from backoffice.commands import ExecutionCommands
from backoffice.trading import actions
from backoffice.trading.accounts import BrandScope, load_account
from backoffice.trading.requests import AdminRequest
from backoffice.trading.rules import account_leverage_cap


def leverage_cap(conn: psycopg.Connection[Any], account_id: int, brands: BrandScope) -> int | None:
    """The highest leverage the brand lets a retail client of the account's country have on
    any symbol group (the execution service holds each symbol to its own group's cap); None
    for a professional group's account, or where the brand caps nothing."""
    account = load_account(conn, account_id, brands)
    row = conn.execute(
        """SELECT c.country, g.client_category FROM trading_accounts a
           JOIN clients c ON c.id = a.client_id
           JOIN account_groups g ON g.id = a.account_group_id WHERE a.id = %s""",
        (account.account_id,),
    ).fetchone()
    assert row is not None
    country, category = str(row[0]), str(row[1])
    if category != "retail":
        return None
    return account_leverage_cap(brand_rules(conn, account.brand_id), country)


def threshold(conn: psycopg.Connection[Any], account_id: int, brands: BrandScope) -> Decimal:
    """The maker-checker threshold of the account's brand; for an account in another
    currency than the threshold's, zero (every amount waits for a checker: the back office
    converts no money to judge its size)."""
    account = load_account(conn, account_id, brands)
    rules = brand_rules(conn, account.brand_id)
    if account.currency != rules.maker_checker_currency:
        return Decimal(0)
    return rules.maker_checker_threshold


def change_leverage(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, leverage: int | None,
) -> AdminRequest:  # fmt: skip
    """Set the account's leverage (None: its group's) within the brand's cap."""
    cap = leverage_cap(conn, account_id, brands)
    return actions.change_leverage(conn, commands, actor, brands, request_id=request_id,
                                   account_id=account_id, leverage=leverage, cap=cap)  # fmt: skip


def balance_correction(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, amount: Decimal, comment: str,
) -> AdminRequest:  # fmt: skip
    """Correct the balance; above the brand's threshold it waits for a second staff member."""
    limit = threshold(conn, account_id, brands)
    return actions.balance_correction(conn, commands, actor, brands, request_id=request_id,
                                      account_id=account_id, amount=amount, comment=comment,
                                      threshold=limit)  # fmt: skip


def grant_credit(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, amount: Decimal, comment: str,
) -> AdminRequest:  # fmt: skip
    limit = threshold(conn, account_id, brands)
    return actions.grant_credit(conn, commands, actor, brands, request_id=request_id,
                                account_id=account_id, amount=amount, comment=comment,
                                threshold=limit)  # fmt: skip


def grant_bonus(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, actor: Actor,
    brands: BrandScope, *, request_id: str, account_id: int, amount: Decimal, comment: str,
) -> AdminRequest:  # fmt: skip
    limit = threshold(conn, account_id, brands)
    return actions.grant_bonus(conn, commands, actor, brands, request_id=request_id,
                               account_id=account_id, amount=amount, comment=comment,
                               threshold=limit)  # fmt: skip
