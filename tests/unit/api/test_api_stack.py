"""The api joins `brokerstack up` as several uvicorn workers with its URL and docs URL."""

from __future__ import annotations

from pathlib import Path

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


def test_every_stack_process_starts_through_brokerstack_run_with_its_own_ops_port(
    tmp_path: Path,
) -> None:
    """Dagster's webserver and daemon are Dagster's own commands: they are the exception."""
    settings = Settings(data_dir=tmp_path)
    endpoints = Endpoints("postgresql://postgres@127.0.0.1:1/postgres", "redis://127.0.0.1:2/0")
    processes = [
        p for p in stack_processes(settings, endpoints) if not p.name.startswith("dagster-")
    ]
    assert {p.name for p in processes} >= {"api", "execution", "tick-writer", "event-writer"}
    for process in processes:
        assert process.argv[1:4] == ["-m", "brokerstack", "run"], process.name
        assert process.ops_url is not None, process.name
    ops_urls = [p.ops_url for p in processes]
    assert len(set(ops_urls)) == len(ops_urls)


def test_the_pipelines_run_on_the_stack_s_dagster_instance(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, dagster_port=3999)
    endpoints = Endpoints("postgresql://postgres@127.0.0.1:1/postgres", "redis://127.0.0.1:2/0")
    dagster = {p.name: p for p in stack_processes(settings, endpoints) if "dagster" in p.name}
    assert set(dagster) == {"dagster-webserver", "dagster-daemon"}
    web, daemon = dagster["dagster-webserver"], dagster["dagster-daemon"]
    assert web.ready_port == ("127.0.0.1", 3999)
    assert web.argv[-2:] == daemon.argv[-2:] == ["-m", "pipelines.definitions"]
    for process in (web, daemon):
        assert process.env["BROKERSTACK_DATABASE_URL"] == endpoints.database_url
        assert process.env["BROKERSTACK_DAGSTER_DATABASE_URL"] == (
            "postgresql+psycopg2://postgres@127.0.0.1:1/dagster"
        )
        home = Path(process.env["DAGSTER_HOME"])
        assert home.is_relative_to(tmp_path)
        assert (home / "dagster.yaml").read_text() == (
            settings.dagster_home_path / "dagster.yaml"
        ).read_text()
