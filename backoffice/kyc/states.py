"""An application's review as a forward-only state machine (pure: no I/O).

Statuses move created -> submitted -> in_review -> a decision: approved (GREEN), rejected (RED +
FINAL, for good) or resubmission_requested (RED + RETRY). The one way back is a new round after
RETRY: the client resubmits, or the provider reports it pending again with an event newer than
the request to resubmit. Webhooks arrive late, twice and out of order; each carries the
provider's time, and the application keeps the time of the event that set its status, so:

- an event older than the current status is stale and changes nothing (a late
  ``applicantPending`` never undoes the review that followed it); one of the same time moves
  the status forward only;
- approved and rejected are final for webhooks (only staff review or a lapse opens a new
  application, see :mod:`backoffice.kyc.lapses`);
- an event that would move a status backwards changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from backoffice.kyc.errors import DecisionRefused, InvalidEvent

Status = Literal[
    "created", "submitted", "in_review", "approved", "resubmission_requested", "rejected"
]
Answer = Literal["GREEN", "RED"]
RejectType = Literal["RETRY", "FINAL"]
Outcome = Literal["applied", "unchanged", "stale", "final"]
Decision = Literal["approve", "reject", "request_documents"]

WAITING: tuple[Status, ...] = ("submitted", "in_review")
OPEN: tuple[Status, ...] = ("created", "submitted", "in_review", "resubmission_requested")
FINAL: tuple[Status, ...] = ("approved", "rejected")

_RANK: dict[Status, int] = {
    "created": 0,
    "submitted": 1,
    "in_review": 2,
    "resubmission_requested": 3,
    "approved": 4,
    "rejected": 4,
}
# Webhook types that mean "the provider is reviewing"; others not listed change nothing.
_REVIEWING = {"applicantPending", "applicantOnHold", "applicantPrechecked"}


@dataclass(frozen=True, slots=True)
class ReviewState:
    status: Status
    changed_at: datetime | None  # the provider's time of the event that set the status


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    type: str
    at: datetime
    answer: Answer | None = None
    reject_type: RejectType | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    outcome: Outcome
    status: Status

    @property
    def changed(self) -> bool:
        return self.outcome == "applied"


def target_of(event: ProviderEvent) -> Status | None:
    """The status an event asks for, or None for a type that carries no review state."""
    if event.type == "applicantCreated":
        return "created"
    if event.type in _REVIEWING:
        return "in_review"
    if event.type != "applicantReviewed":
        return None
    if event.answer == "GREEN":
        return "approved"
    if event.answer == "RED" and event.reject_type == "RETRY":
        return "resubmission_requested"
    if event.answer == "RED" and event.reject_type == "FINAL":
        return "rejected"
    raise InvalidEvent(f"review answer {event.answer!r} with reject type {event.reject_type!r}")


def apply_event(state: ReviewState, event: ProviderEvent) -> Transition:
    """What a provider event does to an application in ``state``."""
    target = target_of(event)
    if state.status in FINAL:
        return Transition("final", state.status)
    if target is None or target == state.status:
        return Transition("unchanged", state.status)
    if state.changed_at is not None and event.at < state.changed_at:
        return Transition("stale", state.status)
    if state.status == "resubmission_requested" and target == "in_review":
        # the client's new round is being reviewed: only an event after the request says so
        if state.changed_at is None or event.at > state.changed_at:
            return Transition("applied", target)
        return Transition("stale", state.status)
    # an event of the same time as the current status moves it forward only (providers stamp
    # to the millisecond, and a quick check sends pending and reviewed in the same one)
    if _RANK[target] > _RANK[state.status]:
        return Transition("applied", target)
    return Transition("stale", state.status)


def resubmit(status: Status) -> Status:
    """The client sends the application (again) for review."""
    if status not in ("created", "resubmission_requested"):
        raise DecisionRefused(f"an application {status} cannot be submitted")
    return "submitted"


def staff_decision(status: Status, decision: Decision, final: bool = False) -> Status:
    """The status a KYC officer's decision leads to; only an open application is decided."""
    if status not in OPEN:
        raise DecisionRefused(f"the application is already {status}")
    if decision == "approve":
        return "approved"
    if decision == "reject":
        return "rejected" if final else "resubmission_requested"
    return "resubmission_requested"


def review_columns(status: Status) -> tuple[Answer | None, RejectType | None]:
    """The review answer and reject type that go with a status (the table checks them)."""
    if status == "approved":
        return "GREEN", None
    if status == "rejected":
        return "RED", "FINAL"
    if status == "resubmission_requested":
        return "RED", "RETRY"
    return None, None
