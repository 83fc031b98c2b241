from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.integration.api.support import Party, add_client

SIGNING_KEY = "test-signing-key-" + "0" * 32


@pytest.fixture
def api_settings(seeded_db_url: str, redis_url: str, tmp_path: Path) -> ApiSettings:
    return ApiSettings(
        database_url=seeded_db_url,
        redis_url=redis_url,
        data_dir=tmp_path,
        signing_key=SIGNING_KEY,
        requests_per_second=1000,
        request_burst=1000,
        orders_per_second=1000,
        order_burst=1000,
        execution_timeout_seconds=5,
    )


@pytest.fixture
def api(api_settings: ApiSettings, redis_client: redis.Redis) -> Iterator[TestClient]:
    del redis_client  # flushed Redis per test
    with TestClient(create_app(api_settings)) as client:
        yield client


@pytest.fixture
def alice(seeded_db_url: str) -> Party:
    return add_client(seeded_db_url, "alice@example.com")


@pytest.fixture
def bob(seeded_db_url: str) -> Party:
    return add_client(seeded_db_url, "bob@example.com")


def login(api: TestClient, party: Party) -> dict[str, str]:
    response = api.post(
        "/v1/auth/token", data={"username": party.email, "password": party.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
