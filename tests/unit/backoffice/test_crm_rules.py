"""The CRM's pure rules: lead stages, assignment matching and rotation, automation windows
and parameters, and what a website may submit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from backoffice.crm.assignment import (
    AssignmentRule,
    LeadFacts,
    first_desk,
    matches,
    next_in_rotation,
)
from backoffice.crm.stages import Stage, StageRefused, check_move
from backoffice.crm.submission import LeadSubmission
from backoffice.crm.triggers import Trigger, check_params, window_start


def move(
    current: Stage,
    target: Stage,
    reason: str | None = None,
    *,
    client: bool = False,
    converting: bool = False,
) -> str | None:
    return check_move(current, target, reason, has_client=client, converting=converting)


def refusal(current: Stage, target: Stage, reason: str | None = None, **kw: bool) -> str:
    with pytest.raises(StageRefused) as caught:
        move(current, target, reason, **kw)
    return caught.value.code


def test_sales_moves_a_lead_forward_and_back_within_the_open_stages() -> None:
    assert move(Stage.NEW, Stage.CONTACTED) is None
    assert move(Stage.CONTACTED, Stage.QUALIFIED, "  budget confirmed ") == "budget confirmed"
    assert move(Stage.QUALIFIED, Stage.CONTACTED) is None
    assert refusal(Stage.CONTACTED, Stage.NEW) == "invalid_transition"


def test_lost_needs_a_reason_and_can_be_reopened() -> None:
    assert refusal(Stage.CONTACTED, Stage.LOST) == "reason_required"
    assert refusal(Stage.CONTACTED, Stage.LOST, "   ") == "reason_required"
    assert move(Stage.CONTACTED, Stage.LOST, "not interested") == "not interested"
    assert move(Stage.LOST, Stage.CONTACTED) is None
    assert refusal(Stage.NEW, Stage.LOST, "x" * 501) == "reason_too_long"


def test_registered_only_by_conversion_and_funded_only_with_a_client() -> None:
    assert refusal(Stage.QUALIFIED, Stage.REGISTERED) == "use_conversion"
    assert move(Stage.QUALIFIED, Stage.REGISTERED, client=True, converting=True) is None
    assert move(Stage.LOST, Stage.REGISTERED, client=True, converting=True) is None
    assert refusal(Stage.NEW, Stage.FUNDED) == "no_client"
    assert refusal(Stage.QUALIFIED, Stage.FUNDED, client=True) == "invalid_transition"
    assert move(Stage.REGISTERED, Stage.FUNDED, client=True) is None
    assert refusal(Stage.FUNDED, Stage.LOST, "churned", client=True) == "invalid_transition"


def rule(
    ident: int,
    desk: tuple[int, ...] = (1,),
    ib: int | None = None,
    countries: set[str] | None = None,
    languages: set[str] | None = None,
) -> AssignmentRule:
    return AssignmentRule(
        ident,
        f"rule {ident}",
        ib,
        None if countries is None else frozenset(countries),
        None if languages is None else frozenset(languages),
        desk,
    )


def test_a_rule_matches_when_every_criterion_it_sets_does() -> None:
    czech_desk = rule(1, countries={"CZ", "SK"}, languages={"cs"})
    assert matches(czech_desk, LeadFacts(None, "CZ", "cs"))
    assert not matches(czech_desk, LeadFacts(None, "CZ", "en"))
    assert not matches(czech_desk, LeadFacts(None, None, "cs"))
    assert matches(rule(2, ib=7), LeadFacts(7, "DE", None))
    assert not matches(rule(2, ib=7), LeadFacts(8, "DE", None))
    assert matches(rule(3), LeadFacts(None, None, None))


def test_the_first_matching_rule_with_someone_on_its_desk_wins() -> None:
    rules = [rule(1, desk=(), ib=7), rule(2, desk=(5,), ib=7), rule(3, desk=(6,))]
    assert first_desk(rules, LeadFacts(7, "DE", "de")) == rules[1]
    assert first_desk(rules, LeadFacts(None, "DE", "de")) == rules[2]
    assert first_desk(rules[:2], LeadFacts(None, "DE", "de")) is None


def test_rotation_goes_round_in_id_order_and_survives_a_departure() -> None:
    staff = [30, 10, 20]
    assert [next_in_rotation(staff, last) for last in (None, 10, 20, 30)] == [10, 20, 30, 10]
    assert next_in_rotation(staff, 15) == 20  # the last one left the desk
    assert next_in_rotation(staff, 99) == 10


def test_windows_are_fixed_spans_from_the_epoch() -> None:
    # 2026-01-01 is a Thursday; 7-day windows from the epoch (a Thursday) start on Thursdays
    assert window_start(datetime(2026, 1, 3, 15, tzinfo=UTC), 168) == datetime(
        2026, 1, 1, tzinfo=UTC
    )
    assert window_start(datetime(2026, 1, 8, tzinfo=UTC), 168) == datetime(2026, 1, 8, tzinfo=UTC)
    assert window_start(datetime(2026, 1, 3, 15, 59, tzinfo=UTC), 1) == datetime(
        2026, 1, 3, 15, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="aware"):
        window_start(datetime(2026, 1, 3), 24)


def test_each_trigger_takes_exactly_its_parameter() -> None:
    assert check_params(Trigger.NO_LOGIN_DAYS, {"days": 14}) == {"days": 14}
    assert check_params(Trigger.FTD, {}) == {}
    cases: list[tuple[Trigger, dict[str, object]]] = [
        (Trigger.NO_LOGIN_DAYS, {}),
        (Trigger.NO_LOGIN_DAYS, {"hours": 3}),
        (Trigger.KYC_WAITING_HOURS, {"hours": 0}),
        (Trigger.KYC_WAITING_HOURS, {"hours": True}),
        (Trigger.NO_TRADE_DAYS, {"days": "7"}),
        (Trigger.MARGIN_CALL, {"days": 1}),
    ]
    for trigger, params in cases:
        with pytest.raises(ValueError):  # noqa: PT011
            check_params(trigger, params)


def test_a_submission_needs_a_contact_and_well_formed_fields() -> None:
    lead = LeadSubmission(email="Ann@Example.com", phone="+420 601-123.456", country="CZ")
    assert lead.phone_e164 == "+420601123456"
    assert lead.fields()["phone"] == "+420 601-123.456"
    with pytest.raises(ValidationError, match="an e-mail or a phone"):
        LeadSubmission(full_name="Ann")
    for bad in (
        {"email": "ann@"},
        {"phone": "00420601123456"},
        {"phone": "+0601123456"},
        {"email": "a@b.cz", "country": "ZZ"},
        {"email": "a@b.cz", "country": "cz"},
        {"email": "a@b.cz", "language": "ENG"},
        {"email": "a@b.cz", "full_name": "A\x00"},
        {"email": "a@b.cz", "owner": 3},
    ):
        with pytest.raises(ValidationError):
            LeadSubmission.model_validate(bad)
