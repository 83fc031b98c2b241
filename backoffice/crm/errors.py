"""What the CRM's services refuse, with a machine-readable code (routes map them to HTTP)."""

from __future__ import annotations

from backoffice import errors
from backoffice.errors import RefusalKind


class CrmError(errors.Refused):
    kind: RefusalKind = "conflict"

    def __init__(self, code: str, message: str) -> None:
        super().__init__("invalid" if code in _INVALID else self.kind, code, message)


# codes of input a rule refuses; the others (a stage move, a closed task) are conflicts
_INVALID = frozenset({
    "invalid_note", "invalid_subject", "invalid_cursor", "invalid_limit", "reason_required",
    "reason_too_long", "subject_required", "subject_mismatch",
})  # fmt: skip


class NotFound(CrmError):
    """Absent, or of a brand outside the caller's scope (the same answer for both)."""

    kind = "not_found"

    def __init__(self, what: str, ident: object) -> None:
        super().__init__("not_found", f"{what} {ident} not found")
        self.what = what
        self.details = {"resource": what}


class Refused(CrmError):
    """A well-formed request the rules do not allow (a stage move, a closed task, ...)."""


class InvalidSiteKey(CrmError):
    """A lead submission whose brand key is unknown or revoked."""

    kind = "forbidden"
