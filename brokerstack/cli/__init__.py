"""The ``brokerstack`` command line: up, migrate, seed, status."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import psycopg
import typer
from alembic.util.exc import CommandError
from rich.console import Console
from rich.table import Table

from brokerstack.errors import BrokerstackError
from brokerstack.services import check_database, check_redis, database, embedded_postgres
from brokerstack.settings import load_settings
from brokerstack.stack import (
    endpoint_table,
    prepare_warehouse,
    running_services,
    stack_processes,
)
from brokerstack.supervisor import Supervisor
from ingest import cli as ingest_cli
from warehouse.migrate import current, downgrade, head, upgrade
from warehouse.seed import seed as seed_reference_data

app = typer.Typer(
    help="brokerstack: the broker's trading core, back office and data platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(ingest_cli.app)  # import-ticks, import-candles, ingest-maintenance
console = Console()
errors = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def operator_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (BrokerstackError, CommandError) as exc:
            message = str(exc)
        except psycopg.Error as exc:
            message = f"database error: {str(exc).strip().splitlines()[0]}"
        errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)

    return wrapper


@app.command()
@operator_errors
def up() -> None:
    """Start every service and process of the stack; Ctrl-C stops them all."""
    settings = load_settings()
    with running_services(settings, console) as endpoints:
        prepare_warehouse(endpoints.database_url, console)
        supervisor = Supervisor(settings.data_path / "logs", console)
        processes = stack_processes(settings, endpoints)
        try:
            for spec in processes:
                supervisor.start(spec)
            console.print(endpoint_table(endpoints, processes))
            console.print(
                f"logs in {settings.data_path / 'logs'}; press Ctrl-C to stop", soft_wrap=True
            )

            def died(name: str, code: int) -> None:
                errors.print(f"[bold red]{name} exited with code {code}; stopping the stack")

            supervisor.wait(died)
        finally:
            supervisor.stop_all()


@app.command()
@operator_errors
def migrate(
    revision: str = typer.Argument("head", help="target revision"),
    down: bool = typer.Option(False, "--down", help="downgrade to REVISION instead"),
) -> None:
    """Apply (or with --down, revert) warehouse migrations."""
    settings = load_settings()
    with database(settings) as url:
        if down:
            downgrade(url, revision)
        else:
            upgrade(url, revision)
        console.print(f"warehouse at revision {current(url) or 'base'}")


@app.command()
@operator_errors
def seed() -> None:
    """Load reference data (brands, groups, instruments, LPs, roles); safe to repeat."""
    settings = load_settings()
    with database(settings) as url:
        at = current(url)
        if at != head():
            raise BrokerstackError(
                f"the warehouse is at revision {at or 'base'}, not {head()}: "
                "run `brokerstack migrate` first"
            )
        with psycopg.connect(url) as conn:
            seed_reference_data(conn)
    console.print("reference data seeded")


@app.command()
@operator_errors
def status() -> None:
    """Show where each service is and whether it answers."""
    settings = load_settings()
    table = Table(title="brokerstack status")
    for column in ("part", "mode", "where", "state"):
        table.add_column(column, overflow="fold")
    healthy = True
    if settings.database_url is None:
        server = embedded_postgres(settings)
        db_url: str | None = server.url if server.running_port() is not None else None
        where, mode = server.url, "embedded"
    else:
        db_url = where = str(settings.database_url)
        mode = "configured"
    if db_url is None:
        table.add_row("postgres", mode, where, "not running")
        healthy = False
    else:
        try:
            version = check_database(db_url)
            table.add_row("postgres", mode, where, f"up {version}, schema {current(db_url)}")
        except BrokerstackError as exc:
            table.add_row("postgres", mode, where, f"[red]{exc}")
            healthy = False
    redis_url = (
        str(settings.redis_url)
        if settings.redis_url
        else f"redis://{settings.host}:{settings.redis_port}/0"
    )
    try:
        table.add_row(
            "redis",
            "configured" if settings.redis_url else "embedded",
            redis_url,
            f"up {check_redis(redis_url, timeout=2)}",
        )
    except BrokerstackError as exc:
        table.add_row("redis", "embedded", redis_url, f"[red]{exc}")
        healthy = False
    console.print(table)
    if not healthy:
        raise typer.Exit(1)


def main() -> None:
    sys.exit(app())
