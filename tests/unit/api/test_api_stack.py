"""The api joins `brokerstack up` as several uvicorn workers with its URL and docs URL."""

from __future__ import annotations

from brokerstack.cli.stack import Endpoints, stack_processes
from brokerstack.settings import Settings


def test_the_api_is_a_stack_process_with_its_urls() -> None:
    settings = Settings(api_port=8123, host="127.0.0.1")
    endpoints = Endpoints("postgresql://postgres@127.0.0.1:1/postgres", "redis://127.0.0.1:2/0")
    api = next(p for p in stack_processes(settings, endpoints) if p.name == "api")
    assert api.argv[1:] == ["-m", "brokerstack", "run", "api"]
    assert "http://127.0.0.1:8123" in api.endpoint
    assert "http://127.0.0.1:8123/docs" in api.endpoint
    assert api.ready_port == ("127.0.0.1", 8123)
    assert api.env["BROKERSTACK_DATABASE_URL"] == endpoints.database_url
    assert api.env["BROKERSTACK_REDIS_URL"] == endpoints.redis_url


def test_every_stack_process_starts_through_brokerstack_run_with_its_own_ops_port() -> None:
    settings = Settings()
    endpoints = Endpoints("postgresql://postgres@127.0.0.1:1/postgres", "redis://127.0.0.1:2/0")
    processes = stack_processes(settings, endpoints)
    assert {p.name for p in processes} >= {"api", "execution", "tick-writer", "event-writer"}
    for process in processes:
        assert process.argv[1:4] == ["-m", "brokerstack", "run"], process.name
        assert process.ops_url is not None, process.name
    ops_urls = [p.ops_url for p in processes]
    assert len(set(ops_urls)) == len(ops_urls)
