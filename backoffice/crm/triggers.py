"""Retention triggers (pure rules): which kinds exist, the parameters each takes, and the
windows a rule fires in.

Windows are fixed spans of a rule's window length counted from the Unix epoch (UTC), so every
worker, before and after a restart, computes the same window for the same moment; a rule fires
at most once per client per window. State triggers (no login, no trade, no deposit, KYC
waiting) look at the client as of now; event triggers (a declined deposit, a margin call, the
first deposit) fire for events inside the current window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final


class Trigger(StrEnum):
    NO_LOGIN_DAYS = "no_login_days"
    NO_TRADE_DAYS = "no_trade_days"
    REGISTERED_NO_DEPOSIT_HOURS = "registered_no_deposit_hours"
    KYC_WAITING_HOURS = "kyc_waiting_hours"
    DECLINED_DEPOSIT = "declined_deposit"
    MARGIN_CALL = "margin_call"
    FTD = "ftd"


# The one number each state trigger needs (its name in the rule's params).
PARAMETER: Final[dict[Trigger, str]] = {
    Trigger.NO_LOGIN_DAYS: "days",
    Trigger.NO_TRADE_DAYS: "days",
    Trigger.REGISTERED_NO_DEPOSIT_HOURS: "hours",
    Trigger.KYC_WAITING_HOURS: "hours",
}

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MAX_AMOUNT = 3650  # days or hours: beyond ten years a rule is a typo


def check_params(trigger: Trigger, params: dict[str, Any]) -> dict[str, int]:
    """The rule's parameters, or ValueError saying what is wrong."""
    name = PARAMETER.get(trigger)
    expected = {name} if name else set()
    if set(params) != expected:
        wanted = f"{{{name!r}: N}}" if name else "no parameters"
        raise ValueError(f"{trigger.value} takes {wanted}")
    if name is None:
        return {}
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_AMOUNT:
        raise ValueError(f"{name} is a whole number from 1 to {MAX_AMOUNT}")
    return {name: value}


def window_start(now: datetime, window_hours: int) -> datetime:
    """The start of the window ``now`` falls in."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    length = timedelta(hours=window_hours)
    return EPOCH + ((now - EPOCH) // length) * length


def threshold(now: datetime, trigger: Trigger, params: dict[str, int]) -> datetime:
    """For a state trigger: the moment before which the client's last activity must lie."""
    name = PARAMETER[trigger]
    return now - (timedelta(days=params[name]) if name == "days" else timedelta(hours=params[name]))
