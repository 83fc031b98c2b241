"""What ``brokerstack up`` runs: the embedded servers, the schema, and the stack's processes."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg
from rich.console import Console
from rich.table import Table

from backoffice.processes import backoffice_processes
from brokerstack.dagster_instance import dagster_env, ensure_dagster_database
from brokerstack.errors import ConfigError
from brokerstack.services import (
    check_database,
    check_redis,
    embedded_postgres,
    embedded_redis,
    unreachable,
)
from brokerstack.services.ports import require_free_port
from brokerstack.settings import Settings
from brokerstack.supervisor import ProcessSpec, brokerstack_run
from execution.lpsim.processes import lp_simulator_processes
from execution.service.processes import execution_processes
from ingest.processes import ingest_processes
from pipelines.processes import pipeline_processes
from warehouse.migrate import upgrade
from warehouse.seed import seed

if TYPE_CHECKING:
    from execution.fix.config import LpConfig


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    redis_url: str


def stack_endpoints(settings: Settings) -> Endpoints:
    """The configured servers, or where the embedded ones listen."""
    return Endpoints(settings.database_dsn, settings.redis_dsn)


def server_processes(settings: Settings, console: Console) -> list[ProcessSpec]:
    """The embedded servers ``up`` supervises (none for a configured URL), ready to start.

    A PostgreSQL that another command started in the background on the data folder (or left
    there when it was killed) is stopped first, so that the supervisor owns the server.
    """
    specs = []
    host = settings.host
    if settings.database_url is None:
        postgres = embedded_postgres(settings)
        running = postgres.running_port()
        if running is not None:
            console.print(
                f"stopping the embedded PostgreSQL running in the background on {running}"
            )
            postgres.stop()
        require_free_port(host, postgres.port, "embedded PostgreSQL")
        postgres.prepare()
        specs.append(
            ProcessSpec(
                name="postgres",
                argv=postgres.command(),
                endpoint=postgres.url,
                ready_port=(host, postgres.port),
                ready=lambda: unreachable(check_database, postgres.url) is None,
                user=postgres.system_user,
                stop_signal=signal.SIGINT,  # "fast" shutdown: clients out, checkpoint, exit
                stop_timeout=60.0,
            )
        )
    if settings.redis_url is None:
        redis_server = embedded_redis(settings)
        require_free_port(host, redis_server.port, "embedded Redis")
        specs.append(
            ProcessSpec(
                name="redis",
                argv=redis_server.command(),
                endpoint=redis_server.url,
                ready_port=(host, redis_server.port),
                ready=lambda: unreachable(check_redis, redis_server.url) is None,
            )
        )
    return specs


def prepare_warehouse(database_url: str, console: Console) -> None:
    """Migrate to head, seed reference data and make the Dagster instance's database (all
    idempotent)."""
    upgrade(database_url)
    with psycopg.connect(database_url) as conn:
        seed(conn)
    ensure_dagster_database(database_url)
    console.print("warehouse migrated and seeded")


def configured_lps(settings: Settings, database_url: str) -> list[LpConfig]:
    """The LPs the execution service will connect to when ``up`` runs no simulator."""
    if settings.lps != "configured":
        return []
    # imported here: the execution.fix package loads quickfix (about 120 MB and a second or
    # two), which no other command needs
    from execution.fix.config import load_lps

    with psycopg.connect(database_url) as conn:
        lps = load_lps(conn)
    if not lps:
        raise ConfigError(
            "BROKERSTACK_LPS=configured, but the warehouse has no enabled LP with an enabled "
            "quote and trade session (tables lps, lp_sessions)"
        )
    return lps


def stack_processes(settings: Settings, endpoints: Endpoints) -> list[ProcessSpec]:
    """Every long-running process of the stack after the servers (started side by side, each
    after what its spec names), in the order they stop in reverse."""
    services_env = {
        "BROKERSTACK_DATABASE_URL": endpoints.database_url,
        "BROKERSTACK_REDIS_URL": endpoints.redis_url,
        "BROKERSTACK_DATA_DIR": str(settings.data_path),
    }
    lps = lp_simulator_processes(settings, services_env) if settings.lps == "simulators" else []
    return [
        *lps,
        *execution_processes(settings, services_env, tuple(spec.name for spec in lps)),
        api_process(settings, services_env),
        *ingest_processes(settings, services_env),
        *backoffice_processes(settings, services_env),
        *pipeline_processes(
            settings, {**services_env, **dagster_env(settings, endpoints.database_url)}
        ),
    ]


def api_process(settings: Settings, services_env: dict[str, str]) -> ProcessSpec:
    """The client trading API: several uvicorn workers behind one port."""
    url = f"http://{settings.host}:{settings.api_port}"
    return ProcessSpec(
        name="api",
        argv=brokerstack_run("api"),
        endpoint=f"{url}  (docs {url}/docs)",
        env=services_env,
        ready_port=(settings.host, settings.api_port),
        ops_url=f"http://{settings.host}:{settings.api.ops_port}",
    )


def endpoint_table(
    endpoints: Endpoints, processes: list[ProcessSpec], lps: list[LpConfig]
) -> Table:
    table = Table(title="brokerstack is up", show_lines=False)
    table.add_column("part")
    table.add_column("reachable at")
    table.add_column("ops port: /health /ready /metrics")
    table.add_row("postgres", redact(endpoints.database_url), "-")
    table.add_row("redis", redact(endpoints.redis_url), "-")
    for spec in processes:
        table.add_row(spec.name, spec.endpoint or "-", spec.ops_url or "-")
    for lp in lps:
        quote, trade = lp.quote, lp.trade
        table.add_row(
            f"{lp.code} (configured)",
            f"FIX quotes {quote.host}:{quote.port}, trades {trade.host}:{trade.port}",
            "-",
        )
    return table


def redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
