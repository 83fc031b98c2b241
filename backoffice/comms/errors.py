"""Why a message was refused at enqueue (raised before anything is stored), and why a
transport could not hand one over."""

from __future__ import annotations

from typing import Any, Literal

from backoffice.errors import Refused

RefusalCode = Literal[
    "unknown_template",
    "invalid_language",
    "template_error",
    "missing_variable",
    "invalid_recipient",
    "no_recipient",
    "unknown_party",
]


class MessageRefused(Refused):
    """The message cannot be queued; ``code`` says why, ``details`` names what was wrong."""

    def __init__(self, code: RefusalCode, message: str, **details: Any) -> None:
        super().__init__("invalid", code, message, details)


class DeliveryFailed(Exception):
    """A transport could not hand a message over; ``permanent`` when trying again cannot help
    (the recipient refused, the number invalid), so the message fails at once."""

    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent
