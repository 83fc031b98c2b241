"""The AML area's errors: a stable machine-readable code and a message for a person."""

from __future__ import annotations

from backoffice.errors import RefusalKind, Refused
from brokerstack.errors import BrokerstackError


class AmlError(Refused, BrokerstackError):
    """Bad input or a refused action; nothing was changed (on the command line, a one-line
    message)."""

    kind: RefusalKind = "conflict"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(self.kind, code, message)


class MalformedListError(AmlError):
    """A list file that cannot be read as its format: rejected whole."""

    kind = "invalid"

    def __init__(self, file_name: str, line: int, reason: str) -> None:
        super().__init__("malformed_list", f"{file_name} line {line}: {reason}")
        self.file_name = file_name
        self.line = line
        self.reason = reason
