"""What ``brokerstack up`` runs: the services, the schema, and the stack's processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import psycopg
from rich.console import Console
from rich.table import Table

from brokerstack.services import (
    check_database,
    check_redis,
    embedded_postgres,
    embedded_redis,
)
from brokerstack.settings import Settings
from brokerstack.supervisor import ProcessSpec, python_module
from execution.lpsim.processes import lp_simulator_processes
from execution.service.processes import execution_processes
from ingest.processes import ingest_processes
from warehouse.migrate import upgrade
from warehouse.seed import seed


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    redis_url: str


@contextmanager
def running_services(settings: Settings, console: Console) -> Iterator[Endpoints]:
    """Start (or check) PostgreSQL and Redis for the life of the block."""
    with ExitStack() as stack:
        if settings.database_url is None:
            postgres = embedded_postgres(settings)
            if postgres.start():
                stack.callback(_stopping, "postgres", postgres.stop, console)
            database_url = postgres.url
        else:
            database_url = str(settings.database_url)
        version = check_database(database_url)
        console.print(f"postgres {version} at {_redact(database_url)}")
        if settings.redis_url is None:
            redis_server = embedded_redis(settings)
            redis_server.start()
            stack.callback(_stopping, "redis", redis_server.stop, console)
            redis_url = redis_server.url
        else:
            redis_url = str(settings.redis_url)
        console.print(f"redis {check_redis(redis_url)} at {_redact(redis_url)}")
        yield Endpoints(database_url, redis_url)


def _stopping(name: str, stop: Callable[[], None], console: Console) -> None:
    stop()
    console.print(f"stopped {name}")


def prepare_warehouse(database_url: str, console: Console) -> None:
    """Migrate to head and seed reference data (both idempotent)."""
    upgrade(database_url)
    with psycopg.connect(database_url) as conn:
        seed(conn)
    console.print("warehouse migrated and seeded")


def stack_processes(settings: Settings, endpoints: Endpoints) -> list[ProcessSpec]:
    """Every long-running process of the stack, in start order."""
    services_env = {
        "BROKERSTACK_DATABASE_URL": endpoints.database_url,
        "BROKERSTACK_REDIS_URL": endpoints.redis_url,
        "BROKERSTACK_DATA_DIR": str(settings.data_path),
    }
    return [
        *lp_simulator_processes(settings, services_env),
        *execution_processes(settings, services_env),
        api_process(settings, services_env),
        *ingest_processes(endpoints.database_url, endpoints.redis_url),
    ]


def api_process(settings: Settings, services_env: dict[str, str]) -> ProcessSpec:
    """The client trading API: several uvicorn workers behind one port."""
    url = f"http://{settings.host}:{settings.api_port}"
    return ProcessSpec(
        name="api",
        argv=python_module("api", "--host", settings.host, "--port", str(settings.api_port)),
        endpoint=f"{url}  (docs {url}/docs)",
        env=services_env,
        ready_port=(settings.host, settings.api_port),
    )


def endpoint_table(endpoints: Endpoints, processes: list[ProcessSpec]) -> Table:
    table = Table(title="brokerstack is up", show_lines=False)
    table.add_column("part")
    table.add_column("reachable at")
    table.add_row("postgres", _redact(endpoints.database_url))
    table.add_row("redis", _redact(endpoints.redis_url))
    for spec in processes:
        table.add_row(spec.name, spec.endpoint or "-")
    return table


def _redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
