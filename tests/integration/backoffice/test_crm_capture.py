"""Lead capture from a brand's website through the api: validation, dedupe per brand by
e-mail and phone, the brand's key, and the per-visitor limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from brokerstack.settings import BackofficeSettings, Settings
from tests.integration.api.conftest import make_settings
from tests.integration.backoffice.support_crm import add_brand, add_staff, site_key


@dataclass(frozen=True)
class Site:
    api: TestClient
    db_url: str
    demo_key: str
    other_key: str

    def submit(self, body: dict[str, Any], key: str | None = None, **headers: str) -> Any:
        return self.api.post(
            "/v1/leads", json=body, headers={"X-Brand-Key": key or self.demo_key, **headers}
        )

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(sql, args).fetchall()


def _settings(db_url: str, redis_url: str, folder: Path, burst: int = 1000) -> Settings:
    settings = make_settings(db_url, redis_url, folder)
    backoffice = BackofficeSettings(lead_submissions_per_second=0.01, lead_submission_burst=burst)
    return settings.model_copy(update={"backoffice": backoffice})


@pytest.fixture
def keys(seeded_db_url: str) -> tuple[str, str]:
    with psycopg.connect(seeded_db_url) as conn:
        add_brand(conn, "other")
        add_staff(conn, "sam@broker.example")
        return site_key(conn, "demo"), site_key(conn, "other")


@pytest.fixture
def site(
    seeded_db_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    keys: tuple[str, str],
) -> Iterator[Site]:
    del redis_client  # flushed per test
    with TestClient(create_app(_settings(seeded_db_url, redis_url, tmp_path))) as api:
        yield Site(api, seeded_db_url, *keys)


def test_bad_fields_are_refused_field_by_field_and_nothing_is_stored(site: Site) -> None:
    answer = site.submit({"email": "ann@", "phone": "601 123 456", "country": "ZZ"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert {f["field"] for f in error["details"]["fields"]} == {"email", "phone", "country"}
    assert site.submit({"full_name": "No Contact"}).status_code == 422
    assert site.rows("SELECT count(*) FROM leads") == [(0,)]
    assert site.rows("SELECT count(*) FROM crm_events") == [(0,)]


def test_a_new_visitor_becomes_a_lead_assigned_to_sales(site: Site) -> None:
    answer = site.submit(
        {
            "full_name": "Ann Novak",
            "email": "ann@example.com",
            "phone": "+420 601 123 456",
            "country": "CZ",
            "language": "cs",
            "source": "landing",
            "utm_source": "google",
            "utm_campaign": "spring",
            "click_id": "abc-123",
            "referral_code": "NOSUCH",
        }
    )
    assert answer.status_code == 202, answer.text
    lead_id = answer.json()["lead_id"]
    [lead] = site.rows(
        "SELECT l.phone_e164, l.country, l.language, l.utm_campaign, l.click_id, l.status,"
        " s.email FROM leads l JOIN staff_users s ON s.id = l.owner_staff_user_id"
        " WHERE l.id = %s",
        lead_id,
    )
    assert lead == ("+420601123456", "CZ", "cs", "spring", "abc-123", "new", "sam@broker.example")
    events = site.rows("SELECT event_type FROM crm_events WHERE lead_id = %s ORDER BY id", lead_id)
    assert events == [("lead.created",), ("lead.assigned",)]


def test_a_repeat_by_email_or_phone_attaches_to_the_same_lead(site: Site) -> None:
    first = site.submit({"email": "Ann@Example.com", "utm_campaign": "spring"}).json()["lead_id"]
    by_email = site.submit(
        {"email": "ann@example.COM", "phone": "+420601123456", "utm_campaign": "summer"}
    )
    by_phone = site.submit({"phone": "+420 601-123-456", "country": "CZ"})
    assert by_email.status_code == by_phone.status_code == 202
    assert by_email.json()["lead_id"] == by_phone.json()["lead_id"] == first
    # blanks filled in; the first campaign kept
    assert site.rows(
        "SELECT count(*), min(phone_e164), min(country), min(utm_campaign) FROM leads"
    ) == [(1, "+420601123456", "CZ", "spring")]
    events = site.rows("SELECT event_type FROM crm_events WHERE lead_id = %s ORDER BY id", first)
    assert [e for (e,) in events].count("lead.resubmitted") == 2


def test_a_retry_with_the_same_idempotency_key_changes_nothing(site: Site) -> None:
    body = {"email": "bob@example.com"}
    first = site.submit(body, **{"Idempotency-Key": "form-1"}).json()["lead_id"]
    again = site.submit(body, **{"Idempotency-Key": "form-1"}).json()["lead_id"]
    later = site.submit(body, **{"Idempotency-Key": "form-2"}).json()["lead_id"]
    assert first == again == later
    kinds = site.rows(
        "SELECT event_type FROM crm_events WHERE event_type LIKE 'lead.%%submitted'"
        " OR event_type = 'lead.created' ORDER BY id"
    )
    assert kinds == [("lead.created",), ("lead.resubmitted",)]


def test_brands_keep_their_own_leads(site: Site) -> None:
    demo = site.submit({"email": "ann@example.com"}).json()["lead_id"]
    other = site.submit({"email": "ann@example.com"}, key=site.other_key).json()["lead_id"]
    assert demo != other
    assert site.rows(
        "SELECT b.code FROM leads l JOIN brands b ON b.id = l.brand_id ORDER BY l.id"
    ) == [("demo",), ("other",)]


def test_an_unknown_or_revoked_brand_key_is_refused(site: Site) -> None:
    answer = site.submit({"email": "ann@example.com"}, key="bsk_" + "x" * 43)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_brand_key"
    with psycopg.connect(site.db_url) as conn:
        conn.execute("UPDATE brand_site_keys SET revoked_at = now()")
    assert site.submit({"email": "ann@example.com"}).status_code == 401
    assert site.rows("SELECT count(*) FROM leads") == [(0,)]


def test_one_visitor_flooding_the_form_is_slowed_down(
    seeded_db_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    keys: tuple[str, str],
) -> None:
    del redis_client
    with TestClient(create_app(_settings(seeded_db_url, redis_url, tmp_path, burst=3))) as api:
        codes = [
            api.post(
                "/v1/leads", json={"email": f"v{i}@example.com"}, headers={"X-Brand-Key": keys[0]}
            ).status_code
            for i in range(5)
        ]
    assert codes[:3] == [202, 202, 202]
    assert codes[3] == 429
