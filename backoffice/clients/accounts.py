"""Trading accounts clients open themselves: a demo account in the brand's default demo group,
funded with a demo balance through the execution service; a live account in the default live
group once the e-mail address is confirmed and the client's KYC level allows live accounts.

The one rule for "may this client have a live account" is the brand's KYC ladder
(``kyc_levels.live_accounts`` of the level the client reached, read by
:func:`backoffice.kyc.levels.client_standing`): a KYC approval raising the level opens it at
once, nothing to restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import psycopg

from backoffice import audit
from backoffice.audit import Actor
from backoffice.brands import brand_rules
from backoffice.brands.rules import ANY
from backoffice.commands import ExecutionCommands, ExecutionUnavailable
from backoffice.errors import Refused
from backoffice.kyc import levels
from backoffice.kyc.errors import KycError
from execution import contracts as c

Kind = Literal["demo", "live"]
DEMO_BALANCE = Decimal(10_000)
MAX_OPEN_PER_KIND = 10


@dataclass(frozen=True, slots=True)
class OpenedAccount:
    account_id: int
    login: int
    kind: str
    group: str
    currency: str
    balance: Decimal
    leverage: int  # the account's own, or its group's


def _refuse(code: str, message: str, kind: Literal["forbidden", "conflict"] = "forbidden",
            **details: Any) -> Refused:  # fmt: skip
    return Refused(kind, code, message, {"source": "backoffice", **details})


def check_live_allowed(conn: psycopg.Connection[Any], client_id: int) -> None:
    verified = conn.execute(
        "SELECT email_verified_at IS NOT NULL FROM clients WHERE id = %s", (client_id,)
    ).fetchone()
    if not verified or not verified[0]:
        raise _refuse("email_not_verified", "confirm your e-mail address first")
    try:
        standing = levels.client_standing(conn, client_id)
    except KycError as exc:
        raise _refuse("kyc_not_approved", exc.message) from exc
    if not standing.level.live_accounts:
        raise _refuse(
            "kyc_not_approved",
            f"live accounts need a higher KYC level than {standing.level.name!r}: "
            "complete your verification",
            kyc_level=standing.level.level,
            missing=[m.requirement for m in standing.missing],
        )


def open_account(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, client_id: int, kind: Kind
) -> OpenedAccount:
    row = conn.execute(
        "SELECT brand_id, status, country, category FROM clients WHERE id = %s FOR UPDATE",
        (client_id,),
    ).fetchone()
    if row is None or row[1] != "active":
        raise _refuse("client_inactive", "the client is not active")
    brand_id, country, category = int(row[0]), str(row[2]), str(row[3])
    if kind == "live":
        check_live_allowed(conn, client_id)
    count = conn.execute(
        """SELECT count(*) FROM trading_accounts
           WHERE client_id = %s AND kind = %s AND closed_at IS NULL""",
        (client_id, kind),
    ).fetchone()
    if count is not None and count[0] >= MAX_OPEN_PER_KIND:
        raise _refuse("too_many_accounts", f"at most {MAX_OPEN_PER_KIND} open {kind} accounts",
                      "conflict")  # fmt: skip
    rules = brand_rules(conn, brand_id)
    group_id = rules.default_group(kind)
    if group_id is None:
        raise _refuse("no_default_group", f"the brand opens no {kind} accounts", "conflict")
    group = conn.execute(
        "SELECT code, deposit_currency, leverage FROM account_groups WHERE id = %s", (group_id,)
    ).fetchone()
    assert group is not None
    code, currency = str(group[0]), str(group[1])
    # a retail client of a capped jurisdiction starts at the brand's cap, not the group's
    cap = rules.leverage_cap(country, ANY) if category == "retail" else None
    leverage = cap if cap is not None and cap < int(group[2]) else None
    opened = conn.execute(
        """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency,
                                         leverage)
           VALUES (nextval('trading_account_logins'), %s, %s, %s, %s, %s) RETURNING id, login""",
        (client_id, group_id, kind, currency, leverage),
    ).fetchone()
    assert opened is not None
    account_id, login = int(opened[0]), int(opened[1])
    audit.record(conn, Actor.client(client_id), "trading_account.opened", "trading_account",
                 account_id, None, {"kind": kind, "group": code, "login": login,
                                    "leverage": leverage})  # fmt: skip
    balance = Decimal(0)
    if kind == "demo":
        # the execution service loads the account on its first command: it must be committed
        conn.commit()
        balance = fund_demo(commands, account_id, DEMO_BALANCE)
    effective = leverage if leverage is not None else int(group[2])
    return OpenedAccount(account_id, login, kind, code, currency, balance, effective)


def fund_demo(commands: ExecutionCommands, account_id: int, amount: Decimal) -> Decimal:
    """The demo balance, booked by the execution service (the writer of balances)."""
    command = c.BalanceOperation(
        request_id=f"demo-funding-{account_id}", account_id=account_id,
        kind=c.BalanceKind.CORRECTION, amount=amount, comment="demo balance",
    )  # fmt: skip
    try:
        reply = commands.execute(command)
    except ExecutionUnavailable as exc:
        raise Refused("conflict", "execution_unavailable",
                      "the account is open; its demo balance follows when trading is back",
                      {"source": "backoffice", "account_id": account_id}) from exc  # fmt: skip
    if isinstance(reply, c.Rejected):
        raise Refused("conflict", reply.code.value, reply.message or "demo funding refused",
                      {"source": "backoffice", "account_id": account_id})  # fmt: skip
    return reply.balance if reply.balance is not None else amount
