"""A KYC officer works the review queue over HTTP: sees what waits (only their brand's),
reads an application and its documents, approves one, rejects one with a reason, asks for
documents on a third; each decision shows in the application, the client's level and the
audit trail compliance reads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from brokerstack.settings import Settings
from tests.integration.backoffice.support_kyc import PNG, application_of, scalar
from tests.integration.backoffice.support_queues import copy_kyc_levels, waiting_application
from tests.integration.backoffice.support_staff import (
    add_brand,
    add_member,
    brand_id,
    login,
    staff_api,
    staff_settings,
)
from warehouse.reference_data import ROLE_PERMISSIONS, ROLES_REQUIRING_2FA

KYC = "/v1/admin/kyc"


@pytest.fixture
def settings(seeded_db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return staff_settings(seeded_db_url, redis_url, tmp_path)


@pytest.fixture
def api(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    del redis_client
    with staff_api(settings) as client:
        yield client


def _audit(api: TestClient, headers: dict[str, str], entity: str, ident: int) -> list[Any]:
    response = api.get(
        "/v1/admin/audit", params={"entity_type": entity, "entity_id": str(ident)}, headers=headers
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def test_an_officer_approves_rejects_and_asks_for_documents(
    api: TestClient, settings: Settings, seeded_db_url: str
) -> None:
    demo = brand_id(seeded_db_url, "demo")
    other = add_brand(seeded_db_url, "other")
    copy_kyc_levels(seeded_db_url, other)
    first, second, third = (waiting_application(seeded_db_url, settings, demo) for _ in range(3))
    elsewhere = waiting_application(seeded_db_url, settings, other)
    officer = add_member(seeded_db_url, ["kyc_officer"], [demo])
    headers = login(api, officer)

    queue = api.get(f"{KYC}/applications", headers=headers)
    assert queue.status_code == 200, queue.text
    waiting = [(q["application_id"], q["client_id"], q["documents"]) for q in queue.json()]
    assert waiting == [(w.application_id, w.client_id, 2) for w in (first, second, third)]

    detail = api.get(f"{KYC}/applications/{first.application_id}", headers=headers).json()
    assert detail["status"] == "in_review"
    assert detail["target_level"] == 1
    assert [(d["kind"], d["side"], d["sha256"]) for d in detail["documents"]] == [
        ("passport", "front", hashlib.sha256(PNG).hexdigest()),
        ("selfie", None, hashlib.sha256(PNG + b"s").hexdigest()),
    ]
    content = api.get(f"{KYC}/documents/{first.document_id}/content", headers=headers)
    assert content.status_code == 200
    assert content.headers["content-type"] == "image/png"
    assert content.content == PNG

    approved = api.post(
        f"{KYC}/applications/{first.application_id}/approve", json={}, headers=headers
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["pending"] is False
    assert (
        scalar(seeded_db_url, "SELECT kyc_level FROM clients WHERE id = %s", first.client_id) == 1
    )

    rejected = api.post(
        f"{KYC}/applications/{second.application_id}/reject",
        json={"reason": "the passport photo is not the client"},
        headers=headers,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert application_of(seeded_db_url, second.client_id)[:2] == ("rejected", "FINAL")

    asked = api.post(
        f"{KYC}/applications/{third.application_id}/request-documents",
        json={"documents": ["proof_of_address"], "reason": "address unclear"},
        headers=headers,
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "resubmission_requested"
    assert application_of(seeded_db_url, third.client_id) == (
        "resubmission_requested",
        "RETRY",
        ["proof_of_address"],
    )

    # the queue is worked; the decisions show on the application
    assert api.get(f"{KYC}/applications", headers=headers).json() == []
    second_detail = api.get(f"{KYC}/applications/{second.application_id}", headers=headers)
    assert second_detail.json()["decision_reason"] == "the passport photo is not the client"
    assert [
        (d["decision"], d["status"], d["decided_by"]) for d in second_detail.json()["decisions"]
    ] == [("reject", "applied", officer.id)]

    # compliance sees who decided what in the audit trail
    compliance = login(api, add_member(seeded_db_url, ["compliance"], [demo]))
    trail = _audit(api, compliance, "kyc_application", first.application_id)
    assert [
        (r["action"], r["actor_type"], r["actor_id"], r["before"]["status"]) for r in trail
    ] == [("kyc.application.approved", "staff", str(officer.id), "in_review")]
    trail = _audit(api, compliance, "kyc_application", second.application_id)
    assert trail[-1]["after"]["reason"] == "the passport photo is not the client"
    viewed = _audit(api, compliance, "kyc_document", first.document_id)
    assert [(r["action"], r["actor_id"]) for r in viewed if r["actor_type"] == "staff"] == [
        ("kyc.document.viewed", str(officer.id))
    ]

    # another brand's application is not found, and stays as it was
    for path in (
        f"applications/{elsewhere.application_id}",
        f"documents/{elsewhere.document_id}/content",
    ):
        assert api.get(f"{KYC}/{path}", headers=headers).status_code == 404
    refused = api.post(
        f"{KYC}/applications/{elsewhere.application_id}/approve", json={}, headers=headers
    )
    assert refused.status_code == 404
    assert application_of(seeded_db_url, elsewhere.client_id)[0] == "in_review"


def test_decisions_need_a_reason_a_waiting_application_and_the_second_factor(
    api: TestClient, settings: Settings, seeded_db_url: str
) -> None:
    demo = brand_id(seeded_db_url, "demo")
    waiting = waiting_application(seeded_db_url, settings, demo)
    officer = login(api, add_member(seeded_db_url, ["kyc_officer"], [demo]))
    url = f"{KYC}/applications/{waiting.application_id}"

    blank = api.post(f"{url}/reject", json={"reason": "   "}, headers=officer)
    assert blank.status_code == 422
    unknown = api.post(
        f"{url}/request-documents", json={"documents": ["diploma"], "reason": "x"}, headers=officer
    )
    assert unknown.status_code == 422
    assert api.post(f"{url}/approve", json={}, headers=officer).status_code == 200
    again = api.post(f"{url}/reject", json={"reason": "changed my mind"}, headers=officer)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "kyc_decision_refused"
    assert application_of(seeded_db_url, waiting.client_id)[0] == "approved"

    unenrolled = add_member(seeded_db_url, ["kyc_officer"], [demo], enrol=False)
    refused = api.get(f"{KYC}/applications", headers=login(api, unenrolled))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "mfa_required"
    support = login(api, add_member(seeded_db_url, ["support"], [demo]))
    assert api.get(f"{KYC}/applications", headers=support).status_code == 403


def test_a_level_with_a_second_approver_waits_for_another_officer(
    api: TestClient, settings: Settings, seeded_db_url: str
) -> None:
    demo = brand_id(seeded_db_url, "demo")
    scalar(
        seeded_db_url,
        "UPDATE kyc_levels SET second_approver = true WHERE brand_id = %s"
        " AND level = 1 RETURNING level",
        demo,
    )
    waiting = waiting_application(seeded_db_url, settings, demo)
    first = add_member(seeded_db_url, ["kyc_officer"], [demo])
    second = add_member(seeded_db_url, ["kyc_officer"], [demo])
    url = f"{KYC}/applications/{waiting.application_id}/approve"

    proposed = api.post(url, json={}, headers=login(api, first))
    assert proposed.status_code == 200, proposed.text
    assert (proposed.json()["status"], proposed.json()["pending"]) == ("in_review", True)
    checker = login(api, second)
    queued = api.get(f"{KYC}/applications", headers=checker).json()
    assert [(q["pending_decision"], q["pending_decided_by"]) for q in queued] == [
        ("approve", first.id)
    ]
    confirmed = api.post(url, json={}, headers=checker)
    assert (confirmed.json()["status"], confirmed.json()["pending"]) == ("approved", False)
    assert application_of(seeded_db_url, waiting.client_id)[0] == "approved"


def test_every_role_that_decides_kyc_or_aml_cases_needs_the_second_factor() -> None:
    # staff_auth asks a role, not a permission, for the TOTP: the roles granted these must
    # be among those that need it
    deciding = {
        role
        for role, granted in ROLE_PERMISSIONS.items()
        if {"kyc.decide", "aml.manage"} & set(granted)
    }
    assert deciding == {"admin", "compliance", "kyc_officer"}
    assert deciding <= ROLES_REQUIRING_2FA
