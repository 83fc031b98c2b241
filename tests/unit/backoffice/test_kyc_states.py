"""The review's state machine: late, repeated and out-of-order provider events never undo a
later state; RETRY lets the client try again, FINAL does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backoffice.kyc import states
from backoffice.kyc.errors import DecisionRefused, InvalidEvent
from backoffice.kyc.states import ProviderEvent, ReviewState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def created(t: int) -> ProviderEvent:
    return ProviderEvent("applicantCreated", at(t))


def pending(t: int) -> ProviderEvent:
    return ProviderEvent("applicantPending", at(t))


def reviewed(t: int, answer: str, reject: str | None = None) -> ProviderEvent:
    return ProviderEvent("applicantReviewed", at(t), answer, reject)  # type: ignore[arg-type]


def run(events: list[ProviderEvent], start: states.Status = "submitted") -> ReviewState:
    state = ReviewState(start, None)
    for event in events:
        transition = states.apply_event(state, event)
        if transition.changed:
            state = ReviewState(transition.status, event.at)
    return state


def test_the_usual_order_ends_approved_on_green() -> None:
    assert run([created(0), pending(1), reviewed(2, "GREEN")]).status == "approved"


def test_a_late_pending_after_the_review_never_undoes_it() -> None:
    for answer, reject, expected in (
        ("GREEN", None, "approved"),
        ("RED", "FINAL", "rejected"),
        ("RED", "RETRY", "resubmission_requested"),
    ):
        state = run([reviewed(2, answer, reject), pending(1), created(0)])
        assert state.status == expected


def test_events_of_the_same_millisecond_move_forward_only() -> None:
    # the provider's quick check: pending and reviewed stamped with the same time
    assert run([created(0), pending(1), reviewed(1, "GREEN")]).status == "approved"
    assert run([created(0), reviewed(1, "GREEN"), pending(1)]).status == "approved"
    assert run([pending(1), reviewed(1, "RED", "RETRY")]).status == "resubmission_requested"
    # a request to resubmit is not undone by a pending of its own time
    assert run([reviewed(1, "RED", "RETRY"), pending(1)]).status == "resubmission_requested"


def test_a_stale_event_is_named_so() -> None:
    state = ReviewState("resubmission_requested", at(5))
    assert states.apply_event(state, pending(3)) == states.Transition(
        "stale", "resubmission_requested"
    )
    assert states.apply_event(ReviewState("in_review", at(5)), created(1)).outcome == "stale"


def test_retry_lets_the_client_resubmit_and_be_reviewed_again() -> None:
    state = run([pending(1), reviewed(2, "RED", "RETRY")])
    assert state.status == "resubmission_requested"
    assert states.resubmit(state.status) == "submitted"
    assert run([pending(3)], "resubmission_requested").status == "in_review"
    again = run([pending(1), reviewed(2, "RED", "RETRY"), pending(3), reviewed(4, "GREEN")])
    assert again.status == "approved"


def test_final_rejection_is_for_good() -> None:
    state = run([pending(1), reviewed(2, "RED", "FINAL"), pending(3), reviewed(4, "GREEN")])
    assert state.status == "rejected"
    with pytest.raises(DecisionRefused):
        states.resubmit("rejected")
    assert states.apply_event(ReviewState("rejected", at(2)), reviewed(9, "GREEN")).outcome == (
        "final"
    )


def test_duplicates_change_nothing_the_second_time() -> None:
    state = ReviewState("in_review", at(1))
    assert states.apply_event(state, pending(1)).outcome == "unchanged"
    approved = ReviewState("approved", at(2))
    assert states.apply_event(approved, reviewed(2, "GREEN")).outcome == "final"


def test_unknown_types_carry_no_state_and_red_needs_a_reject_type() -> None:
    event = ProviderEvent("applicantPersonalInfoChanged", at(1))
    assert states.apply_event(ReviewState("in_review", None), event).outcome == "unchanged"
    with pytest.raises(InvalidEvent):
        states.apply_event(ReviewState("in_review", None), reviewed(2, "RED"))


def test_staff_decide_open_applications_only() -> None:
    assert states.staff_decision("in_review", "approve") == "approved"
    assert states.staff_decision("submitted", "reject", final=True) == "rejected"
    assert states.staff_decision("in_review", "reject") == "resubmission_requested"
    assert states.staff_decision("created", "request_documents") == "resubmission_requested"
    for decided in ("approved", "rejected"):
        with pytest.raises(DecisionRefused):
            states.staff_decision(decided, "approve")
