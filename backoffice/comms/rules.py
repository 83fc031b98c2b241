"""The outbox's rules, apart from the code that reads and writes: how a message's state may
move, how long a failed one waits, which languages a template is looked up in, what a
recipient must look like, and what the SMS provider's statuses mean to us."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from email_validator import EmailNotValidError, validate_email

from backoffice.comms.errors import MessageRefused

Channel = Literal["email", "sms"]
State = Literal["queued", "sending", "sent", "failed", "delivered", "undelivered"]

# How far along a message is; a state only ever moves to a higher rank (a late or replayed
# provider callback, or a worker marking what a callback already advanced, changes nothing).
RANK: dict[State, int] = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "failed": 3,
    "delivered": 3,
    "undelivered": 3,
}

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def moves_forward(current: State, target: State) -> bool:
    return RANK[target] > RANK[current]


def left_our_hands(current: State, target: State) -> bool:
    """True when this move is the one that hands the message to the provider (it goes on the
    client's timeline then, once)."""
    return RANK[current] < RANK["sent"] <= RANK[target] and target != "failed"


def retry_delay(attempts: int, first_seconds: float, most_seconds: float) -> timedelta:
    """The pause after the ``attempts``-th failed attempt: first, 2 x first, 4 x first, ...
    up to ``most``."""
    if attempts < 1:
        raise ValueError("a retry follows at least one attempt")
    return timedelta(seconds=min(first_seconds * 2 ** (attempts - 1), most_seconds))


def gives_up(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts


def language_candidates(requested: str | None, brand_default: str) -> list[str]:
    """The languages to look a brand's template up in, best first: the one asked for, its
    primary subtag (``pt-BR`` -> ``pt``), then the brand's default language."""
    found: list[str] = []
    for language in (requested, (requested or "").split("-")[0], brand_default):
        if language and language not in found:
            found.append(language)
    return found


def checked_language(language: str) -> str:
    """A language tag in its usual form (``pt_br`` -> ``pt-br``, ``DE`` -> ``de``), or
    :class:`MessageRefused` (invalid_language)."""
    primary, _, rest = language.strip().replace("_", "-").partition("-")
    value = primary.lower() + (f"-{rest}" if rest else "")
    if not LANGUAGE.match(value):
        raise MessageRefused(
            "invalid_language", f"{language!r} is not a language tag", language=language
        )
    return value


def checked_recipient(channel: Channel, recipient: str) -> str:
    """The recipient in its normal form, or :class:`MessageRefused` (invalid_recipient)."""
    value = recipient.strip()
    if channel == "sms":
        if not E164.match(value):
            raise MessageRefused(
                "invalid_recipient",
                f"{recipient!r} is not an E.164 phone number (+4915112345678)",
                recipient=recipient,
            )
        return value
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise MessageRefused(
            "invalid_recipient", f"{recipient!r}: {exc}", recipient=recipient
        ) from exc


# Twilio's MessageStatus values -> our state; the ones before "sent" tell us nothing new.
PROVIDER_STATUS: dict[str, State] = {
    "accepted": "sending",
    "scheduled": "sending",
    "queued": "sending",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    # Twilio's "failed" comes after we handed the message over: the provider could not send
    # it, so for us it was not delivered (our "failed" means we never handed it over).
    "failed": "undelivered",
}
