"""The life of a compliance case, as a pure state machine.

open -> under_review (an owner takes it) -> cleared (no concern) or escalated (to the MLRO);
escalated -> reported (a suspicious activity report filed) or cleared. Cleared and reported
are final: a new concern is a new case.
"""

from __future__ import annotations

from typing import Literal

from backoffice.aml.errors import AmlError

CaseStatus = Literal["open", "under_review", "cleared", "escalated", "reported"]
Decision = Literal["clear", "escalate", "report"]
STATUSES: tuple[CaseStatus, ...] = ("open", "under_review", "cleared", "escalated", "reported")
FINAL: frozenset[CaseStatus] = frozenset({"cleared", "reported"})

_DECISIONS: dict[tuple[CaseStatus, Decision], CaseStatus] = {
    ("under_review", "clear"): "cleared",
    ("under_review", "escalate"): "escalated",
    ("escalated", "clear"): "cleared",
    ("escalated", "report"): "reported",
}


def after_assignment(status: CaseStatus) -> CaseStatus:
    """Taking a case (or handing it to someone else) puts an open case under review."""
    if status in FINAL:
        raise AmlError("case_closed", f"a {status} case cannot be assigned")
    return "under_review" if status == "open" else status


def after_decision(status: CaseStatus, decision: Decision) -> CaseStatus:
    """Where a decision takes a case; refused when the case's status does not allow it."""
    if status == "open":
        raise AmlError("case_not_assigned", "assign the case before deciding it")
    target = _DECISIONS.get((status, decision))
    if target is None:
        raise AmlError("invalid_transition", f"cannot {decision} a case that is {status}")
    return target


def accepts_notes(status: CaseStatus) -> bool:
    return status not in FINAL
