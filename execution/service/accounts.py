"""Trading accounts as the back office keeps them: accounts opened after the service started
are loaded on their first command, and the flags the back office changes in the warehouse
(enabled, the client's status and KYC level, toxicity) are re-read periodically. Balances,
leverage and group are never re-read: the service is their writer (`UpdateAccount`).

A re-read applies what changed in the warehouse since the previous look, not the row as it
is: an `UpdateAccount` applied in memory whose journal write is still on its way must not be
undone by the row as it was before.

Also checks what only the warehouse can tell before a command reaches the core: that the
wallet a deposit or withdrawal names exists, is the account's client's and in its currency,
and that a group an account moves to has its kind.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from execution import contracts as c
from execution.core import Core
from execution.service.ledger import AccountOwner
from execution.service.reference import Reference
from execution.service.restore import accounts
from execution.snapshot import AccountRow

log = logging.getLogger(__name__)

_RETRY_UNKNOWN_NS = 5_000_000_000  # an unknown account id is looked up again after this
_WALLET_KINDS = (c.BalanceKind.DEPOSIT, c.BalanceKind.WITHDRAWAL)

# what the warehouse said of an account at the last look: open (its client active and the
# account not closed), enabled, the client's KYC level, the account's KYC minimum
_Flags = tuple[bool, bool, int, int]


def _flags(row: AccountRow) -> _Flags:
    return (True, row.enabled, row.kyc_level, row.min_kyc_level)


class AccountDirectory:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        core: Core,
        reference: Reference,
        owners: dict[int, AccountOwner],
        refused: dict[int, str] | None = None,
    ) -> None:
        self.conn = conn
        self.core = core
        self.reference = reference
        self.owners = owners  # shared with the journal's ledger accounts
        self.refused = refused if refused is not None else {}  # account id -> why
        self._unknown: dict[int, int] = {}  # account id -> when to look again
        self._seen: dict[int, _Flags] = {}

    def check(self, command: c.Command, now: int) -> c.Rejected | None:
        """A reject the core cannot give (unknown wallet), or None to let the core decide."""
        if self.core.answer_to(command) is not None:
            return None
        if command.account_id not in self.core.ctx.accounts:
            self._load(command.account_id, now)
        refusal = self.refused.get(command.account_id)
        if refusal is not None:
            return c.Rejected(
                request_id=command.request_id, code=c.RejectCode.ACCOUNT_DISABLED, message=refusal
            )
        if (
            isinstance(command, c.BalanceOperation)
            and command.kind in _WALLET_KINDS
            and command.wallet_id
            and command.account_id in self.owners
            and not self._wallet_ok(command.account_id, command.wallet_id)
        ):
            return c.Rejected(
                request_id=command.request_id,
                code=c.RejectCode.UNKNOWN_WALLET,
                message=f"unknown wallet {command.wallet_id[:64]}",
            )
        if isinstance(command, c.UpdateAccount) and isinstance(command.group, str):
            return self._group_refusal(command, command.group)
        return None

    def applied(self, command: c.Command, replies: list[c.Reply]) -> None:
        """After the core: an account moved to another group has its ledger owner follow."""
        if (
            isinstance(command, c.UpdateAccount)
            and any(isinstance(r, c.Accepted) for r in replies)
            and command.account_id in self.owners
        ):
            owner = self.owners[command.account_id]
            group = self.core.ctx.accounts[command.account_id].group.name
            self.owners[command.account_id] = AccountOwner(owner.client_id, group)

    def refresh(self) -> None:
        """Re-read every account's flags; add accounts opened since the last look."""
        found = accounts(self.conn, self.reference)
        rows = {row.account_id: row for row in found.rows}
        self._refuse(found.refused)
        for account_id, account in self.core.ctx.accounts.items():
            row = rows.pop(account_id, None)
            seen = self._seen.get(account_id) or (
                account.client_active,
                account.enabled,
                account.kyc_level,
                account.min_kyc_level,
            )
            flags = _flags(row) if row is not None else (False, *seen[1:])
            open_, enabled, kyc_level, minimum = flags
            if open_ != seen[0]:
                account.client_active = open_  # closed, or its client suspended or closed
            if enabled != seen[1]:
                account.enabled = enabled
            if kyc_level != seen[2]:
                account.kyc_level = kyc_level
            if minimum != seen[3]:
                account.min_kyc_level = minimum
            if row is not None:
                account.toxicity = row.toxicity
            self._seen[account_id] = flags
        for row in rows.values():  # opened since the last look
            self._add(row, found.owners[row.account_id])

    def loaded(self, rows: list[AccountRow]) -> None:
        """The accounts the core was built with, as the warehouse said then."""
        self._seen.update((row.account_id, _flags(row)) for row in rows)

    def _load(self, account_id: int, now: int) -> None:
        if self._unknown.get(account_id, 0) > now or not 0 < account_id < 2**63:
            return
        found = accounts(self.conn, self.reference, " AND a.id = %s", (account_id,))
        if not found.rows:
            self._refuse(found.refused)
            self._unknown[account_id] = now + _RETRY_UNKNOWN_NS
            return
        self._unknown.pop(account_id, None)
        self._add(found.rows[0], found.owners[account_id])

    def _refuse(self, refused: dict[int, str]) -> None:
        """Accounts whose money cannot be traded exactly: refused (a correction in the
        warehouse lets them load at the next look), each logged once."""
        for account_id, reason in refused.items():
            if self.refused.get(account_id) != reason:
                log.error("%s", reason)
            self.refused[account_id] = reason

    def _add(self, row: AccountRow, owner: AccountOwner) -> None:
        self.refused.pop(row.account_id, None)
        account = self.core.add_account(
            row.account_id, row.group, row.balance, row.credit, row.enabled, row.kyc_level
        )
        account.leverage, account.min_kyc_level = row.leverage, row.min_kyc_level
        self.core.set_toxicity(row.account_id, row.toxicity)
        self.owners[row.account_id] = owner
        self._seen[row.account_id] = _flags(row)

    def _group_refusal(self, command: c.UpdateAccount, group: str) -> c.Rejected | None:
        """The account's kind is the warehouse's (its row must keep matching its group's)."""
        owner = self.owners.get(command.account_id)
        target = self.reference.groups.get(group)
        if owner is None or target is None:
            return None  # the core refuses an unknown group (or account) itself
        current = self.reference.groups[owner.group]
        if target.kind != current.kind:
            return c.Rejected(
                request_id=command.request_id,
                code=c.RejectCode.INVALID_GROUP,
                message=f"group {group[:64]} is for {target.kind} accounts, not {current.kind}",
            )
        return None

    def _wallet_ok(self, account_id: int, wallet_id: str) -> bool:
        if not wallet_id.isdigit() or len(wallet_id) > 18:
            return False
        owner = self.owners[account_id]
        currency = self.reference.groups[owner.group].currency
        row = self.conn.execute(
            "SELECT client_id, currency, status FROM wallets WHERE id = %s", (int(wallet_id),)
        ).fetchone()
        return row is not None and tuple(row) == (owner.client_id, currency, "active")
