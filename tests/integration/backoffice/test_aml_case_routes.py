"""A compliance analyst works an AML case over HTTP: finds it in the queue, takes it (it goes
under review), writes a note, clears it with a reason; the case, its alert, the client's
timeline and the audit trail show each step, and another brand's case is not found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from brokerstack.settings import Settings
from tests.integration.backoffice.support_kyc import scalar
from tests.integration.backoffice.support_queues import alert_case
from tests.integration.backoffice.support_staff import (
    add_brand,
    add_client,
    add_member,
    brand_id,
    login,
    staff_api,
    staff_settings,
)

CASES = "/v1/admin/aml/cases"


@pytest.fixture
def settings(seeded_db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return staff_settings(seeded_db_url, redis_url, tmp_path)


@pytest.fixture
def api(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    del redis_client
    with staff_api(settings) as client:
        yield client


def test_an_analyst_assigns_notes_and_clears_a_case(api: TestClient, seeded_db_url: str) -> None:
    demo = brand_id(seeded_db_url, "demo")
    other = add_brand(seeded_db_url, "other")
    client = add_client(seeded_db_url, demo, "watched@example.com")
    case_id = alert_case(seeded_db_url, client)
    elsewhere = alert_case(seeded_db_url, add_client(seeded_db_url, other, "far@example.com"))
    analyst = add_member(seeded_db_url, ["compliance"], [demo])
    headers = login(api, analyst)

    queue = api.get(CASES, params={"status": "open"}, headers=headers)
    assert queue.status_code == 200, queue.text
    assert [(c["id"], c["client_id"], c["kind"]) for c in queue.json()] == [
        (case_id, client, "monitoring_alert")
    ]

    taken = api.post(
        f"{CASES}/{case_id}/assign", json={"staff_user_id": analyst.id}, headers=headers
    )
    assert taken.status_code == 200, taken.text
    assert (taken.json()["status"], taken.json()["owner_staff_user_id"]) == (
        "under_review",
        analyst.id,
    )
    note = api.post(
        f"{CASES}/{case_id}/notes", json={"body": "deposits match the payslips"}, headers=headers
    )
    assert note.status_code == 201, note.text
    cleared = api.post(
        f"{CASES}/{case_id}/decision",
        json={"decision": "clear", "reason": "salary, documented"},
        headers=headers,
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["status"], cleared.json()["decision"]) == ("cleared", "clear")
    assert cleared.json()["decided_at"] is not None

    detail = api.get(f"{CASES}/{case_id}", headers=headers).json()
    assert [(n["staff_user_id"], n["body"]) for n in detail["notes"]] == [
        (analyst.id, "deposits match the payslips")
    ]
    assert detail["source"]["rule"] == "structuring"
    assert detail["case"]["decision_reason"] == "salary, documented"
    alert = detail["case"]["aml_alert_id"]
    assert scalar(seeded_db_url, "SELECT status FROM aml_alerts WHERE id = %s", alert) == "closed"
    assert api.get(CASES, params={"status": "open"}, headers=headers).json() == []

    # a cleared case takes no more notes: the case's state, not the input, refuses it
    late = api.post(f"{CASES}/{case_id}/notes", json={"body": "one more"}, headers=headers)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "case_closed"

    trail = api.get(
        "/v1/admin/audit",
        params={"entity_type": "aml_case", "entity_id": str(case_id)},
        headers=headers,
    )
    assert trail.status_code == 200, trail.text
    staff_steps = [(r["action"], r["actor_id"]) for r in trail.json() if r["actor_type"] == "staff"]
    assert staff_steps == [
        ("aml.case_assigned", str(analyst.id)),
        ("aml.case_note", str(analyst.id)),
        ("aml.case_decided", str(analyst.id)),
    ]
    timeline = api.get(
        f"/v1/admin/crm/clients/{client}/timeline",
        headers=login(api, add_member(seeded_db_url, ["support"], [demo])),
    ).json()["items"]
    kinds = [i["kind"] for i in timeline]
    assert kinds[:3] == ["aml.case_decided", "aml.case_note", "aml.case_assigned"]

    # another brand's case is not found, whatever the call
    assert api.get(f"{CASES}/{elsewhere}", headers=headers).status_code == 404
    assert (
        api.post(
            f"{CASES}/{elsewhere}/assign", json={"staff_user_id": analyst.id}, headers=headers
        ).status_code
        == 404
    )
    assert scalar(seeded_db_url, "SELECT status FROM aml_cases WHERE id = %s", elsewhere) == "open"


def test_a_case_is_decided_only_once_taken_and_with_a_reason(
    api: TestClient, seeded_db_url: str
) -> None:
    demo = brand_id(seeded_db_url, "demo")
    case_id = alert_case(seeded_db_url, add_client(seeded_db_url, demo, "c@example.com"))
    analyst = add_member(seeded_db_url, ["compliance"], [demo])
    headers = login(api, analyst)

    early = api.post(
        f"{CASES}/{case_id}/decision",
        json={"decision": "clear", "reason": "looks fine"},
        headers=headers,
    )
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "case_not_assigned"
    api.post(f"{CASES}/{case_id}/assign", json={"staff_user_id": analyst.id}, headers=headers)
    blank = api.post(
        f"{CASES}/{case_id}/decision", json={"decision": "clear", "reason": " "}, headers=headers
    )
    assert blank.status_code == 422
    reported = api.post(
        f"{CASES}/{case_id}/decision",
        json={"decision": "report", "reason": "straight to a report"},
        headers=headers,
    )
    assert reported.status_code == 409  # report follows an escalation
    escalated = api.post(
        f"{CASES}/{case_id}/decision",
        json={"decision": "escalate", "reason": "structuring pattern"},
        headers=headers,
    )
    assert escalated.json()["status"] == "escalated"
    sales = login(api, add_member(seeded_db_url, ["sales"], [demo]))
    assert api.get(CASES, headers=sales).status_code == 403
