"""A lead's stages and the moves between them (pure rules).

new -> contacted -> qualified is the sales desk's work; registered is reached only by
converting the lead to a client (registration), funded only once that client has deposited;
lost needs a reason and may be reopened (contacted) when the visitor comes back.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Stage(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    REGISTERED = "registered"
    FUNDED = "funded"
    LOST = "lost"


MOVES: Final[dict[Stage, frozenset[Stage]]] = {
    Stage.NEW: frozenset({Stage.CONTACTED, Stage.QUALIFIED, Stage.REGISTERED, Stage.LOST}),
    Stage.CONTACTED: frozenset({Stage.QUALIFIED, Stage.REGISTERED, Stage.LOST}),
    Stage.QUALIFIED: frozenset({Stage.CONTACTED, Stage.REGISTERED, Stage.LOST}),
    Stage.REGISTERED: frozenset({Stage.FUNDED, Stage.LOST}),
    Stage.FUNDED: frozenset(),
    Stage.LOST: frozenset({Stage.CONTACTED, Stage.REGISTERED}),
}

MAX_REASON = 500


class StageRefused(ValueError):
    """A move the rules do not allow; ``code`` says which rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_move(
    current: Stage, target: Stage, reason: str | None, *, has_client: bool, converting: bool
) -> str | None:
    """The reason to keep (stripped; None when none is given), or :class:`StageRefused`.

    ``converting``: the move is the conversion to a client itself (the only way to registered).
    """
    kept = reason.strip() if reason is not None else None
    if kept is not None and not kept:
        kept = None
    if kept is not None and len(kept) > MAX_REASON:
        raise StageRefused("reason_too_long", f"a reason has at most {MAX_REASON} characters")
    if target is Stage.REGISTERED and not converting:
        raise StageRefused("use_conversion", "a lead becomes registered by converting it")
    if converting and target is not Stage.REGISTERED:
        raise StageRefused("invalid_transition", "a conversion registers the lead")
    if target is Stage.FUNDED and not has_client:
        raise StageRefused("no_client", "only a registered lead can be funded")
    if target is Stage.LOST and kept is None:
        raise StageRefused("reason_required", "a lost lead needs a reason")
    if target not in MOVES[current]:
        raise StageRefused(
            "invalid_transition", f"a lead cannot move from {current.value} to {target.value}"
        )
    return kept
