"""The back office's actions on an account: its settings (`UpdateAccount`: switch, leverage,
group, the client's KYC level and status) and the dealer's closes (`DealerClose`).

Leverage: an account's own leverage replaces its group's but never exceeds the group's
leverage, and retail caps per symbol group still bind (`AccountGroup.leverage_for`: the lower
of the account's leverage and the group's cap in that symbol group), so no setting can lift a
retail client over the ESMA/FCA caps (domain.md, Account state). A leverage or group that
would leave the account at or under its stop-out level is refused (NO_MONEY): applying it
would stop the account out at once, which is the dealer's decision to take by closing
positions, not a side effect of a settings change. Under the margin-call level it is accepted
and the margin call follows.
"""

from __future__ import annotations

from decimal import Decimal

from msgspec import UNSET

from execution.context import Context
from execution.contracts import (
    Accepted,
    AccountSettings,
    DealerClose,
    DealReason,
    RejectCode,
    Rejected,
    Reply,
    Side,
    UpdateAccount,
)
from execution.fills import Fills
from execution.groups import AccountGroup
from execution.margin import value_account
from execution.monitor import MarginMonitor
from execution.records import AccountChange, Outcome
from execution.state import Account, Position
from execution.units import lots_to_units, to_decimal


def _reject(request_id: str, code: RejectCode, message: str = "") -> Rejected:
    return Rejected(request_id=request_id, code=code, message=message)


def settings(account: Account) -> AccountSettings:
    return AccountSettings(
        account_id=account.id,
        group=account.group.name,
        leverage=account.leverage,
        enabled=account.enabled,
        client_active=account.client_active,
        kyc_level=account.kyc_level,
    )


def group_refusal(account: Account, target: AccountGroup | None) -> str | None:
    """Why the account cannot move to `target` (None: it can). Its kind is the shell's to
    check (the core's groups do not know it)."""
    current = account.group
    if target is None:
        return "unknown group"
    if target.brand != current.brand:
        return f"group {target.name} is another brand's"
    if target.currency != current.currency:
        return f"group {target.name} is in {target.currency}, the account in {current.currency}"
    if target.accounting != current.accounting and (account.positions or account.orders):
        return f"group {target.name} is {target.accounting}: close positions and orders first"
    return None


class AccountAdmin:
    def __init__(self, ctx: Context, fills: Fills, monitor: MarginMonitor) -> None:
        self.ctx = ctx
        self.fills = fills
        self.monitor = monitor

    # --- settings -------------------------------------------------------------------------

    def update(self, out: Outcome, cmd: UpdateAccount, account: Account, now: int) -> Reply:
        rid = cmd.request_id
        target = account.group
        if cmd.group is not UNSET:
            target = self.ctx.groups.get(cmd.group)  # type: ignore[assignment]
            refusal = group_refusal(account, target)
            if refusal is not None:
                return _reject(rid, RejectCode.INVALID_GROUP, refusal)
        leverage = account.leverage if cmd.leverage is UNSET else cmd.leverage
        if leverage is not None and not 1 <= leverage <= target.leverage:
            return _reject(
                rid, RejectCode.INVALID_LEVERAGE, f"{leverage}: 1 to {target.leverage} allowed"
            )
        if cmd.kyc_level is not UNSET and cmd.kyc_level < 0:
            return _reject(rid, RejectCode.MALFORMED, "a KYC level is 0 or more")
        margined = target is not account.group or leverage != account.leverage
        if margined and account.legs:
            code = self._stop_out(account, target, leverage)
            if code is not None:
                return _reject(rid, code, "the account would be under its stop-out level")
        if target is not account.group:
            self._move(account, target)
        if margined:
            account.leverage = leverage
            for leg in account.legs.values():
                leg.margin_version = -1  # valued at the old leverage
            self.ctx.expected_margin = None
        if cmd.enabled is not UNSET:
            account.enabled = cmd.enabled
        if cmd.client_active is not UNSET:
            account.client_active = cmd.client_active
        if cmd.kyc_level is not UNSET:
            account.kyc_level = cmd.kyc_level
        if margined or cmd.enabled is not UNSET:
            out.journal.append(
                AccountChange(account.id, account.group.name, account.leverage, account.enabled)
            )
        if margined and account.legs:
            self.monitor.check(out, account, now)  # a margin call at the new margin, at once
        return Accepted(request_id=rid, account=settings(account))

    def _stop_out(
        self, account: Account, group: AccountGroup, leverage: int | None
    ) -> RejectCode | None:
        """Whether the account valued with that group and leverage would be stopped out."""
        saved = account.group, account.leverage
        account.group, account.leverage = group, leverage
        try:
            # values every leg afresh (and leaves the legs' caches stale)
            valuation = value_account(account, self.ctx.book(group), self.ctx.converter)
        finally:
            account.group, account.leverage = saved
        if valuation is None:
            return RejectCode.OFF_QUOTES
        if group.below(group.stop_ratio, valuation.equity, valuation.margin):
            return RejectCode.NO_MONEY
        return None

    def _move(self, account: Account, target: AccountGroup) -> None:
        """Into another group of the same currency: its limits, prices and net volume."""
        group_net = self.ctx.group_net
        for position in account.positions.values():
            symbol = position.instrument.symbol
            signed = position.units if position.side is Side.BUY else -position.units
            old, new = (account.group.name, symbol), (target.name, symbol)
            group_net[old] = group_net.get(old, 0) - signed
            group_net[new] = group_net.get(new, 0) + signed
        account.group = target
        for leg in account.legs.values():
            leg.profit_version = leg.margin_version = -1  # priced in the old group's book

    # --- the dealer -----------------------------------------------------------------------

    def dealer_close(self, out: Outcome, cmd: DealerClose, account: Account, now: int) -> Reply:
        """Closed internally at the account's client price, as a stop-out is, whatever the
        account's switch, status or KYC level (a disabled account's positions are exactly
        what a dealer closes)."""
        rid = cmd.request_id
        if cmd.position_id is None:
            if cmd.volume is not None:
                return _reject(rid, RejectCode.MALFORMED, "a volume needs a position id")
            positions = sorted(account.positions.values(), key=lambda p: p.id)
            closing = [(p, p.units) for p in positions]
        else:
            position = account.positions.get(cmd.position_id)
            if position is None:
                return _reject(rid, RejectCode.UNKNOWN_POSITION)
            units = position.units if cmd.volume is None else lots_to_units(cmd.volume)
            step = position.instrument.step_units
            if units is None or units <= 0 or units > position.units or units % step:
                return _reject(rid, RejectCode.INVALID_VOLUME)
            closing = [(position, units)]
        for position, _ in closing:
            code = self._closable(account, position, now)
            if code is not None:
                return _reject(rid, code, f"position {position.id} ({position.instrument.symbol})")
        deals = tuple(
            self.fills.close_at_market(out, account, position, units, now, DealReason.DEALER)[0]
            for position, units in closing
        )
        balance: Decimal = to_decimal(account.balance, account.group.currency_digits)
        return Accepted(request_id=rid, deal_ids=deals, balance=balance)

    def _closable(self, account: Account, position: Position, now: int) -> RejectCode | None:
        instrument = position.instrument
        if instrument.sessions is not None and not instrument.sessions.is_open(now):
            return RejectCode.MARKET_CLOSED
        if instrument.symbol not in self.ctx.pricing.live or not self.fills.closable(
            account, position
        ):
            return RejectCode.OFF_QUOTES
        return None
