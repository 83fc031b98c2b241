"""The AML area's errors: a stable machine-readable code and a message for a person."""

from __future__ import annotations

from backoffice.errors import RefusalKind, Refused
from brokerstack.errors import BrokerstackError


class AmlError(Refused, BrokerstackError):
    """Bad input or a refused action; nothing was changed (on the command line, a one-line
    message)."""

    kind: RefusalKind = "conflict"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(_KINDS.get(code, self.kind), code, message)


# codes of an absent case (or another brand's) and of input a rule refuses; the others are the
# case's state (closed, not assigned, a decision its status does not allow): a conflict
_KINDS: dict[str, RefusalKind] = {
    "case_not_found": "not_found",
    "empty_note": "invalid",
    "reason_required": "invalid",
    "unknown_staff_user": "invalid",
}


class MalformedListError(AmlError):
    """A list file that cannot be read as its format: rejected whole."""

    kind = "invalid"

    def __init__(self, file_name: str, line: int, reason: str) -> None:
        super().__init__("malformed_list", f"{file_name} line {line}: {reason}")
        self.file_name = file_name
        self.line = line
        self.reason = reason
