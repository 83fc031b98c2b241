"""``/ready`` says what the api cannot reach, and recovers when it is back.

A PostgreSQL of this test's own (the session's shared server must keep running for the other
tests) is stopped and started again under a running app.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import PostgresDsn, RedisDsn

from api.app import create_app
from brokerstack.services import EmbeddedPostgres
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from brokerstack.streams import EXECUTION_STATUS_HASH, HEARTBEAT_UPDATED_FIELD
from tests.embedded_servers import server_folder

HEARTBEAT = EXECUTION_STATUS_HASH.format(shard="main")


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    with server_folder("readiness-pg") as folder:
        server = EmbeddedPostgres(folder / "pgdata", "127.0.0.1", free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def settings(own_postgres: EmbeddedPostgres, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=PostgresDsn(own_postgres.url), redis_url=RedisDsn(redis_url), data_dir=tmp_path
    )


def _beat(client: redis.Redis) -> None:
    """What the execution service's status thread writes every second."""
    client.hset(HEARTBEAT, HEARTBEAT_UPDATED_FIELD, str(time.time()))


def _ready(api: TestClient) -> tuple[int, dict[str, object]]:
    response = api.get("/ready")
    return response.status_code, response.json()


def test_ready_fails_while_postgres_is_stopped_and_recovers_when_it_is_back(
    own_postgres: EmbeddedPostgres, settings: Settings, redis_client: redis.Redis
) -> None:
    with TestClient(create_app(settings)) as api:
        _beat(redis_client)
        assert _ready(api) == (200, {"ready": True})

        own_postgres.stop()
        _beat(redis_client)
        status, body = _ready(api)
        assert status == 503
        assert body["ready"] is False
        assert set(body) == {"ready", "postgres"}  # Redis and the execution service still answer
        assert api.get("/health").json() == {"status": "alive"}  # alive, just not ready

        own_postgres.start()
        _beat(redis_client)
        deadline = time.monotonic() + 20
        while _ready(api)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _ready(api) == (200, {"ready": True})


def test_ready_names_an_execution_service_that_stopped_beating(
    settings: Settings, redis_client: redis.Redis
) -> None:
    with TestClient(create_app(settings)) as api:
        status, body = _ready(api)
        assert status == 503
        assert "no heartbeat" in str(body["execution"])
        redis_client.hset(HEARTBEAT, HEARTBEAT_UPDATED_FIELD, str(time.time() - 60))
        status, body = _ready(api)
        assert status == 503
        assert "last heartbeat was 60s ago" in str(body["execution"])
        _beat(redis_client)
        assert _ready(api) == (200, {"ready": True})
