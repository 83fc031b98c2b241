"""The api joins `brokerstack up` as several uvicorn workers with its URL and docs URL."""

from __future__ import annotations

from brokerstack.cli.stack import Endpoints, stack_processes
from brokerstack.settings import Settings


def test_the_api_is_a_stack_process_with_its_urls() -> None:
    settings = Settings(api_port=8123, host="127.0.0.1")
    endpoints = Endpoints("postgresql://postgres@127.0.0.1:1/postgres", "redis://127.0.0.1:2/0")
    api = next(p for p in stack_processes(settings, endpoints) if p.name == "api")
    assert api.argv[1:3] == ["-m", "api"]
    assert "http://127.0.0.1:8123" in api.endpoint
    assert "http://127.0.0.1:8123/docs" in api.endpoint
    assert api.ready_port == ("127.0.0.1", 8123)
    assert api.env["BROKERSTACK_DATABASE_URL"] == endpoints.database_url
    assert api.env["BROKERSTACK_REDIS_URL"] == endpoints.redis_url
