"""Trading accounts as the back office keeps them: accounts opened after the service started
are loaded on their first command, and the flags the back office changes (enabled, KYC level,
toxicity) are re-read periodically. Balances are never re-read: the service is their writer.

Also checks what only the warehouse can tell before a command reaches the core: that the
wallet a deposit or withdrawal names exists, is the account's client's and in its currency.
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
        return None

    def refresh(self) -> None:
        """Re-read every account's flags; add accounts opened since the last look."""
        found = accounts(self.conn, self.reference)
        known = self.core.ctx.accounts
        still_open = {row.account_id for row in found.rows}
        for account_id, gone in known.items():
            if account_id not in still_open:
                gone.enabled = False  # closed, or its client suspended or closed
        self._refuse(found.refused)
        for row in found.rows:
            account = known.get(row.account_id)
            if account is None:
                self._add(row, found.owners[row.account_id])
            else:
                account.enabled = row.enabled
                account.kyc_level = row.kyc_level
                account.toxicity = row.toxicity

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
        self.core.add_account(
            row.account_id, row.group, row.balance, row.credit, row.enabled, row.kyc_level
        )
        self.core.set_toxicity(row.account_id, row.toxicity)
        self.owners[row.account_id] = owner

    def _wallet_ok(self, account_id: int, wallet_id: str) -> bool:
        if not wallet_id.isdigit() or len(wallet_id) > 18:
            return False
        owner = self.owners[account_id]
        currency = self.reference.groups[owner.group].currency
        row = self.conn.execute(
            "SELECT client_id, currency, status FROM wallets WHERE id = %s", (int(wallet_id),)
        ).fetchone()
        return row is not None and tuple(row) == (owner.client_id, currency, "active")
