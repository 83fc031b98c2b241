"""A sales person works a lead over HTTP: takes it, moves it through its stages, adds a task
and a note, sees it convert to a client, and reads the client's timeline page by page; the
audit trail has each change, and another brand's lead is not found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from brokerstack.settings import Settings
from tests.integration.backoffice.support_queues import add_lead
from tests.integration.backoffice.support_staff import (
    add_brand,
    add_client,
    add_member,
    brand_id,
    login,
    staff_api,
    staff_settings,
)

CRM = "/v1/admin/crm"


@pytest.fixture
def settings(seeded_db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return staff_settings(seeded_db_url, redis_url, tmp_path)


@pytest.fixture
def api(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    del redis_client
    with staff_api(settings) as client:
        yield client


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _pages(api: TestClient, headers: dict[str, str], client: int, size: int) -> list[Any]:
    """The whole timeline, read ``size`` items at a time."""
    items: list[Any] = []
    before = None
    while True:
        params: dict[str, Any] = {"limit": size} | ({} if before is None else {"before": before})
        page = _ok(api.get(f"{CRM}/clients/{client}/timeline", params=params, headers=headers))
        assert len(page["items"]) <= size
        items += page["items"]
        before = page["next_before"]
        if before is None:
            return items


def test_a_sales_person_works_a_lead_to_a_client(api: TestClient, seeded_db_url: str) -> None:
    demo = brand_id(seeded_db_url, "demo")
    lead = add_lead(seeded_db_url, demo)
    seller = add_member(seeded_db_url, ["sales"], [demo], enrol=False)
    headers = login(api, seller)

    assert [item["id"] for item in _ok(api.get(f"{CRM}/leads", headers=headers))] == [lead]
    assert _ok(api.get(f"{CRM}/leads/{lead}", headers=headers))["status"] == "new"
    taken = _ok(
        api.put(
            f"{CRM}/leads/{lead}/owner", json={"owner_staff_user_id": seller.id}, headers=headers
        )
    )
    assert taken == {"lead_id": lead, "owner_staff_user_id": seller.id}
    for stage in ("contacted", "qualified"):
        moved = _ok(api.post(f"{CRM}/leads/{lead}/stage", json={"stage": stage}, headers=headers))
        assert moved["status"] == stage
    lost = api.post(f"{CRM}/leads/{lead}/stage", json={"stage": "lost"}, headers=headers)
    assert lost.status_code == 422  # lost needs a reason
    assert (
        api.post(
            f"{CRM}/leads/{lead}/stage", json={"stage": "registered"}, headers=headers
        ).status_code
        == 422
    )  # only by converting

    task = _ok(
        api.post(
            f"{CRM}/tasks",
            json={
                "owner_staff_user_id": seller.id,
                "subject": "Send the account opening link",
                "due_at": "2030-01-02T09:00:00Z",
                "lead_id": lead,
            },
            headers=headers,
        ),
        201,
    )["id"]
    open_tasks = _ok(api.get(f"{CRM}/tasks", params={"lead_id": lead}, headers=headers))
    assert [(t["id"], t["status"], t["subject"]) for t in open_tasks] == [
        (task, "open", "Send the account opening link")
    ]
    _ok(
        api.post(
            f"{CRM}/leads/{lead}/notes", json={"text": "wants EURUSD and gold"}, headers=headers
        ),
        201,
    )

    client = add_client(seeded_db_url, demo, "registered@example.com")
    _ok(api.post(f"{CRM}/leads/{lead}/convert", json={"client_id": client}, headers=headers))
    converted = _ok(api.get(f"{CRM}/leads/{lead}", headers=headers))
    assert (converted["status"], converted["client_id"]) == ("registered", client)
    _ok(api.post(f"{CRM}/tasks/{task}/close", json={"status": "done"}, headers=headers))
    assert _ok(api.get(f"{CRM}/tasks", params={"lead_id": lead}, headers=headers)) == []
    done = _ok(api.get(f"{CRM}/tasks", params={"status": "done"}, headers=headers))
    assert [(t["id"], t["client_id"]) for t in done] == [(task, client)]
    _ok(
        api.post(
            f"{CRM}/clients/{client}/notes",
            json={"text": "first deposit next week"},
            headers=headers,
        ),
        201,
    )

    # the lead's history moved to the client: newest first, the same read in pages of two
    whole = _ok(api.get(f"{CRM}/clients/{client}/timeline", headers=headers))
    assert whole["next_before"] is None
    assert _pages(api, headers, client, 2) == whole["items"]
    by_staff = [(i["kind"], i["summary"]) for i in whole["items"] if i["actor"] == "Staff Member"]
    assert by_staff == [
        ("note.added", "first deposit next week"),
        ("lead.converted", "Registered as a client"),
        ("note.added", "wants EURUSD and gold"),
        ("task", "Task (done): Send the account opening link"),
        ("lead.stage_changed", "Stage contacted -> qualified"),
        ("lead.stage_changed", "Stage new -> contacted"),
        ("lead.assigned", f"Assigned to staff {seller.id}"),
    ]
    assert whole["items"][-1]["kind"] == "lead.created"

    compliance = login(api, add_member(seeded_db_url, ["compliance"], [demo]))
    trail = _ok(
        api.get(
            "/v1/admin/audit",
            params={"entity_type": "lead", "entity_id": str(lead)},
            headers=compliance,
        )
    )
    assert [(r["action"], r["actor_id"]) for r in trail if r["actor_type"] == "staff"] == [
        ("lead.assign", str(seller.id)),
        ("lead.stage", str(seller.id)),
        ("lead.stage", str(seller.id)),
        ("lead.convert", str(seller.id)),
    ]
    task_trail = _ok(
        api.get(
            "/v1/admin/audit",
            params={"entity_type": "crm_task", "entity_id": str(task)},
            headers=compliance,
        )
    )
    assert [r["action"] for r in task_trail] == ["task.create", "task.close"]


def test_another_brands_lead_and_client_are_not_found(api: TestClient, seeded_db_url: str) -> None:
    demo = brand_id(seeded_db_url, "demo")
    other = add_brand(seeded_db_url, "other")
    theirs = add_lead(seeded_db_url, other)
    their_client = add_client(seeded_db_url, other, "theirs@example.com")
    seller = add_member(seeded_db_url, ["sales"], [demo], enrol=False)
    headers = login(api, seller)

    assert _ok(api.get(f"{CRM}/leads", headers=headers)) == []
    for method, path, body in (
        ("GET", f"/leads/{theirs}", None),
        ("POST", f"/leads/{theirs}/stage", {"stage": "contacted"}),
        ("PUT", f"/leads/{theirs}/owner", {"owner_staff_user_id": seller.id}),
        ("POST", f"/leads/{theirs}/convert", {"client_id": their_client}),
        ("POST", f"/leads/{theirs}/notes", {"text": "hello"}),
        ("POST", f"/clients/{their_client}/notes", {"text": "hello"}),
        ("GET", f"/clients/{their_client}/timeline", None),
        (
            "POST",
            "/tasks",
            {
                "owner_staff_user_id": seller.id,
                "subject": "x",
                "due_at": "2030-01-02T09:00:00Z",
                "lead_id": theirs,
            },
        ),
    ):
        response = api.request(method, CRM + path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.text)
    support = login(api, add_member(seeded_db_url, ["support"], [demo], enrol=False))
    assert api.get(f"{CRM}/leads", headers=support).status_code == 200
    refused = api.post(f"{CRM}/leads/{theirs}/stage", json={"stage": "contacted"}, headers=support)
    assert refused.status_code == 403  # support reads, does not change
