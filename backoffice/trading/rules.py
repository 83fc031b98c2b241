"""Pure rules of the trading admin actions: leverage caps, the four-eyes threshold, the ids
commands carry, and commands kept as JSON (the contract's own encoding)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from backoffice.brands.rules import ANY, BrandRules
from backoffice.trading.errors import InvalidAmount, LeverageAboveCap
from execution import contracts as c

# an admin action's command carries the action's request id under this prefix, so it can
# never meet a client's own request id at the execution service
COMMAND_PREFIX = "admin:"


def check_leverage(leverage: int | None, cap: int | None) -> None:
    """A leverage within the cap the brand sets for the client's jurisdiction (None: no cap
    but the group's, which the execution service enforces); None restores the group's."""
    if leverage is None:
        return
    if leverage < 1:
        raise LeverageAboveCap(f"leverage {leverage} is not a leverage", {"leverage": leverage})
    if cap is not None and leverage > cap:
        raise LeverageAboveCap(
            f"leverage 1:{leverage} is above the 1:{cap} cap", {"leverage": leverage, "cap": cap}
        )


def account_leverage_cap(rules: BrandRules, country: str) -> int | None:
    """The cap on a retail account's own leverage: the highest the brand lets a client of
    `country` have on any symbol group (the execution service holds each symbol to its own
    group's cap); None where the brand caps nothing."""
    groups = {group for _, group in rules.leverage_caps} | {ANY}
    caps = [cap for g in groups if (cap := rules.leverage_cap(country, g)) is not None]
    return max(caps) if caps else None


def needs_approval(amount: Decimal, threshold: Decimal | None) -> bool:
    """Whether a money action waits for a second staff member: its size above the brand's
    threshold (None: every amount goes at once)."""
    return threshold is not None and abs(amount) > threshold


def check_amount(amount: Decimal, positive: bool) -> None:
    """A finite, non-zero amount (one not exact in the account's currency the execution
    service refuses itself); a bonus is also positive."""
    if not amount.is_finite() or amount == 0:
        raise InvalidAmount(f"{amount} is not an amount", {"amount": str(amount)})
    if positive and amount < 0:
        raise InvalidAmount("a grant is positive", {"amount": str(amount)})


def command_request_id(request_id: str) -> str:
    return COMMAND_PREFIX + request_id


def flags_request_id(
    client_id: int, version: int, kyc_level: int, active: bool, account_id: int
) -> str:
    """The push of one client's flags to one account: the same change, the same id (what it
    pushes is in the id too, so a retry after the client changed again is another push)."""
    state = "active" if active else "inactive"
    return f"client-flags:{client_id}:{version}:{kyc_level}:{state}:{account_id}"


def command_json(command: c.Command) -> dict[str, Any]:
    """The command as stored (without its deadline and trace: not part of what it does)."""
    plain = msgspec.structs.replace(command, deadline=None, trace="")
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(plain))
    return decoded


def command_from_json(stored: dict[str, Any]) -> c.Command:
    command: c.Command = msgspec.json.decode(msgspec.json.encode(stored), type=c.Command)
    return command


def reply_json(reply: c.Reply) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(reply))
    return decoded
