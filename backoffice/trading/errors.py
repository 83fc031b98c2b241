"""What a trading admin action refuses with: a machine-readable code, a message, details, and
the HTTP status a route answers with. Nothing is changed when one is raised."""

from __future__ import annotations

from typing import Any


class TradingActionError(Exception):
    code = "trading_action_refused"
    status = 409

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class AccountNotFound(TradingActionError):
    """Unknown, closed, or of a brand the staff member does not work for (never said apart)."""

    code = "trading_account_not_found"
    status = 404


class PositionNotFound(TradingActionError):
    code = "position_not_found"
    status = 404


class GroupNotFound(TradingActionError):
    code = "account_group_not_found"
    status = 404


class RequestNotFound(TradingActionError):
    code = "admin_request_not_found"
    status = 404


class LeverageAboveCap(TradingActionError):
    code = "leverage_above_cap"
    status = 422


class InvalidAmount(TradingActionError):
    code = "invalid_amount"
    status = 422


class NotStaff(TradingActionError):
    code = "staff_only"
    status = 403


class CheckerIsMaker(TradingActionError):
    """Four eyes: the staff member who asked cannot approve or reject their own request."""

    code = "checker_is_maker"
    status = 403


class AlreadyDecided(TradingActionError):
    code = "admin_request_decided"
    status = 409


class RequestIdReused(TradingActionError):
    """The request id was used for another action: the first one stands."""

    code = "idempotency_conflict"
    status = 409


class ExecutionRefused(TradingActionError):
    """The execution service refused the command; ``code`` is its reject code."""

    status = 422

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or code, details)
        self.code = code
