"""What the CRM's services refuse, with a machine-readable code (routes map them to HTTP)."""

from __future__ import annotations


class CrmError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(CrmError):
    """Absent, or of a brand outside the caller's scope (the same answer for both)."""

    def __init__(self, what: str, ident: object) -> None:
        super().__init__("not_found", f"{what} {ident} not found")
        self.what = what


class Refused(CrmError):
    """A well-formed request the rules do not allow (a stage move, a closed task, ...)."""


class InvalidSiteKey(CrmError):
    """A lead submission whose brand key is unknown or revoked."""
