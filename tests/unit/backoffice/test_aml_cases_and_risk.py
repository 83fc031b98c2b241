"""The rules of the case queue and of the risk score, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backoffice.aml.case_states import after_assignment, after_decision
from backoffice.aml.errors import AmlError
from backoffice.aml.risk_rules import RiskInputs, add_months, assess


def test_a_case_goes_under_review_when_assigned_then_to_a_decision() -> None:
    assert after_assignment("open") == "under_review"
    assert after_assignment("escalated") == "escalated"  # handed on, still escalated
    assert after_decision("under_review", "clear") == "cleared"
    assert after_decision("under_review", "escalate") == "escalated"
    assert after_decision("escalated", "report") == "reported"
    assert after_decision("escalated", "clear") == "cleared"


@pytest.mark.parametrize(
    ("status", "decision", "code"),
    [
        ("open", "clear", "case_not_assigned"),
        ("under_review", "report", "invalid_transition"),
        ("cleared", "escalate", "invalid_transition"),
        ("reported", "clear", "invalid_transition"),
        ("escalated", "escalate", "invalid_transition"),
    ],
)
def test_a_decision_the_status_does_not_allow_is_refused(
    status: str, decision: str, code: str
) -> None:
    with pytest.raises(AmlError) as caught:
        after_decision(status, decision)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_a_final_case_cannot_be_assigned() -> None:
    for status in ("cleared", "reported"):
        with pytest.raises(AmlError):
            after_assignment(status)


_HIGH = {"IR": "FATF call for action", "SY": "FATF increased monitoring"}


def _inputs(**kw: object) -> RiskInputs:
    base: dict[str, object] = dict(
        country="DE",
        nationality="DE",
        high_risk_countries=_HIGH,
        pep=False,
        occupation="teacher",
        expected_annual_deposit=Decimal(5000),
        open_alerts=0,
    )
    return RiskInputs(**{**base, **kw})  # type: ignore[arg-type]


def test_an_ordinary_profile_is_low_risk_with_standard_due_diligence() -> None:
    result = assess(_inputs())
    assert (result.level, result.points, result.factors) == ("low", 0, ())
    assert result.due_diligence == "standard"
    assert result.next_review(date(2026, 12, 10)) == date(2029, 12, 10)


def test_each_factor_adds_its_points_and_is_recorded() -> None:
    result = assess(
        _inputs(
            country="IR",
            occupation="Casino manager",
            expected_annual_deposit=Decimal(250_000),
            open_alerts=5,
        )
    )
    assert [(f.factor, f.points) for f in result.factors] == [
        ("country", 30),
        ("occupation", 15),
        ("expected_deposits", 15),
        ("payment_behaviour", 30),
    ]
    assert result.points == 90
    assert result.level == "high"


def test_a_pep_is_high_risk_and_asks_for_more_documents_and_a_yearly_review() -> None:
    low, pep = assess(_inputs()), assess(_inputs(pep=True))
    assert pep.level == "high"
    assert pep.due_diligence == "enhanced"
    assert set(low.required_documents) < set(pep.required_documents)
    assert "source_of_funds" in pep.required_documents
    assert pep.next_review(date(2026, 12, 10)) == date(2027, 12, 10)
    # a review already due earlier stays
    assert pep.next_review(date(2026, 12, 10), date(2027, 3, 1)) == date(2027, 3, 1)


def test_a_high_risk_country_alone_is_medium() -> None:
    assert assess(_inputs(country="SY", nationality="SY")).level == "medium"
    unknown = assess(_inputs(occupation=None, expected_annual_deposit=None))
    assert unknown.points == 10
    assert unknown.level == "low"


def test_months_are_added_to_the_last_day_when_the_month_is_shorter() -> None:
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
