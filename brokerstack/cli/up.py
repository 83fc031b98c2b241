"""``brokerstack up``: start the whole stack under the supervisor, until Ctrl-C."""

from __future__ import annotations

import signal

import typer

from brokerstack.cli.console import console, errors, operator_errors
from brokerstack.cli.stack import (
    configured_lps,
    endpoint_table,
    prepare_warehouse,
    redact,
    server_processes,
    stack_endpoints,
    stack_processes,
)
from brokerstack.services import check_database, check_redis
from brokerstack.settings import load_settings
from brokerstack.stack_state import exclusive_stack, state_path
from brokerstack.supervisor import Supervisor, stop_leftovers


@operator_errors
def up() -> None:
    """Start every service and process of the stack; Ctrl-C stops them all."""
    settings = load_settings()
    data = settings.data_path
    with exclusive_stack(data):
        for name in stop_leftovers(state_path(data)):
            console.print(f"stopped {name}, left running by a brokerstack up that died")
        supervisor = Supervisor(
            data / "logs",
            console,
            state_path(data),
            log_max_bytes=settings.log.max_bytes,
            log_backups=settings.log.backups,
        )
        # until the stack is up, SIGTERM interrupts the start like Ctrl-C does
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        verdict: str | None = None
        interrupted = False
        try:
            supervisor.start_all(server_processes(settings, console))
            endpoints = stack_endpoints(settings)
            version = check_database(endpoints.database_url)
            console.print(f"postgres {version} at {redact(endpoints.database_url)}")
            version = check_redis(endpoints.redis_url)
            console.print(f"redis {version} at {redact(endpoints.redis_url)}")
            prepare_warehouse(endpoints.database_url, console)
            lps = configured_lps(settings, endpoints.database_url)
            processes = stack_processes(settings, endpoints)
            supervisor.start_all(processes)
            console.print(endpoint_table(endpoints, processes, lps))
            console.print(
                f"logs ({settings.log.format}, rotated at {settings.log.max_bytes} bytes, "
                f"{settings.log.backups} kept) in {data / 'logs'}; `brokerstack status` asks "
                "every process; press Ctrl-C to stop",
                soft_wrap=True,
            )
            verdict = supervisor.supervise()
        except KeyboardInterrupt:
            errors.print("[yellow]interrupted while starting; stopping")
            interrupted = True
        finally:
            supervisor.stop_all()
    if verdict is not None:
        errors.print(f"[bold red]{verdict}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if interrupted:
        raise typer.Exit(130)
