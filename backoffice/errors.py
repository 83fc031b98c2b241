"""What a back-office service answers when it refuses: a kind the caller maps to its own
surface (the api to an HTTP status, the command line to an exit code), a stable code and a
message. Raised before anything is written, so a refusal changes nothing."""

from __future__ import annotations

from typing import Any, Literal

RefusalKind = Literal["invalid", "not_found", "forbidden", "conflict", "unavailable"]


class Refused(Exception):
    """Every back-office refusal; an area's errors subclass it with their own ``kind`` and
    ``code`` (``unavailable``: a party we depend on could not be reached, try again)."""

    def __init__(
        self, kind: RefusalKind, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.details = details or {}


def not_found(what: str, ident: object) -> Refused:
    # the same answer for "absent" and "another brand's": nothing confirms it exists
    return Refused("not_found", "not_found", f"{what} {ident} not found", {"resource": what})


def invalid(field: str, message: str) -> Refused:
    """Well-formed input a rule refuses (an unknown role, a group of another kind); the
    ``source`` tells it from a schema's refusal."""
    return Refused("invalid", "validation_error", f"invalid value for {field}",
                   {"fields": [{"field": field, "in": "body", "message": message,
                                "type": "value_error"}], "source": "backoffice"})  # fmt: skip


def forbidden(message: str) -> Refused:
    return Refused("forbidden", "forbidden", message)
