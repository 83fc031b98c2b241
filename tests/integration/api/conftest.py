from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import PostgresDsn, RedisDsn, SecretStr

from api.app import create_app
from brokerstack.settings import ApiSettings, Settings
from tests.integration.api.servers import serve, trading_processes
from tests.integration.api.support import Party, add_client

SIGNING_KEY = "test-signing-key-" + "0" * 32


def make_settings(
    db_url: str, redis_url: str, folder: Path, rate: int = 1000, timeout: float = 5
) -> Settings:
    """Settings for api tests: a fixed signing key and rate limits out of the way."""
    api = ApiSettings(
        signing_key=SecretStr(SIGNING_KEY),
        requests_per_second=rate,
        request_burst=rate,
        orders_per_second=rate,
        order_burst=rate,
        execution_timeout_seconds=timeout,
    )
    return Settings(
        database_url=PostgresDsn(db_url), redis_url=RedisDsn(redis_url), data_dir=folder, api=api
    )


@pytest.fixture
def api_settings(seeded_db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(seeded_db_url, redis_url, tmp_path)


@pytest.fixture
def api(api_settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    del redis_client  # flushed Redis per test
    with TestClient(create_app(api_settings)) as client:
        yield client


@pytest.fixture
def stack(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[tuple[str, Party, Party]]:
    """The api under uvicorn and ``brokerstack run execution`` (its demo LPs quote and
    fill) on this test's database: (base URL, alice with 100,000 USD, bob)."""
    del redis_client
    alice = add_client(seeded_db_url, "alice@example.com", balance=Decimal(100_000))
    bob = add_client(seeded_db_url, "bob@example.com")
    settings = make_settings(seeded_db_url, redis_url, tmp_path, timeout=10)
    with trading_processes(seeded_db_url, redis_url, tmp_path), serve(settings) as base:
        yield base, alice, bob


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
