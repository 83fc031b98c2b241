"""Property-based fuzz of lead capture (schemathesis, as the api's own fuzz): whatever a
website or a bot sends, no 5xx, answers as documented, schema-valid submissions accepted
and schema-invalid ones refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import PostgresDsn, RedisDsn
from schemathesis import checks
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema

from api.app import create_app
from brokerstack.settings import BackofficeSettings, Settings
from tests.conftest import _create_database, _drop_database, with_database
from tests.integration.api.conftest import make_settings
from tests.integration.api.servers import serve
from tests.integration.backoffice.support_crm import add_staff, site_key

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
]


@dataclass(frozen=True)
class Target:
    base_url: str
    key: str
    db_url: str


@pytest.fixture(scope="module")
def target(
    pg_admin_url: str,
    _seeded_template: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Target]:
    name = f"test_leads_fuzz_{uuid.uuid4().hex[:8]}"
    _create_database(pg_admin_url, name, template=_seeded_template)
    db_url = with_database(pg_admin_url, name)
    redis.Redis.from_url(redis_url).flushdb()
    with psycopg.connect(db_url) as conn:
        add_staff(conn, "sam@b.example")
        key = site_key(conn)
    folder = Path(tmp_path_factory.mktemp("leads-fuzz"))
    base = make_settings(db_url, redis_url, folder, rate=10_000)
    unlimited = BackofficeSettings(lead_submissions_per_second=10_000, lead_submission_burst=10_000)
    try:
        with serve(base.model_copy(update={"backoffice": unlimited})) as base_url:
            yield Target(base_url, key, db_url)
    finally:
        _drop_database(pg_admin_url, name)


schema: BaseSchema = schemathesis.openapi.from_dict(
    create_app(
        Settings(
            database_url=PostgresDsn("postgresql://unused"), redis_url=RedisDsn("redis://unused")
        )
    ).openapi()
).include(path="/v1/leads")


@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_lead_capture_never_fails_and_keeps_to_its_schema(case: Case[Any], target: Target) -> None:
    # Schema-valid cases carry the brand's real key, so they reach the service; the others
    # keep whatever key they were generated with.
    if case.meta is not None and case.meta.generation.mode.is_positive:
        case.headers["X-Brand-Key"] = target.key
    case.call_and_validate(base_url=target.base_url, checks=CHECKS)
