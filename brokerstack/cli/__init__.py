"""The ``brokerstack`` command line: up, run, status, migrate, seed, replay, fix, ingest, and
the pipelines' report, export and snapshot.

The command line is the stack's composition root: it may import every product package, and
nothing imports it (the base of ``brokerstack`` — settings, streams, errors, services,
supervisor — imports no other product package).
"""

from __future__ import annotations

import sys

import typer

from brokerstack.cli import (
    audit,
    automations,
    fix,
    imports,
    leads,
    ledger,
    migrations,
    pipelines,
    replay,
    run,
    sanctions,
    staff,
    status,
    up,
)

app = typer.Typer(
    help="brokerstack: the broker's trading core, back office and data platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(up.up)
app.command()(status.status)
app.command()(migrations.migrate)
app.command()(migrations.seed)
app.command()(replay.replay)
app.add_typer(imports.app)  # import-ticks, import-candles, ingest-maintenance
app.add_typer(fix.app)  # fix reset-sequence
app.add_typer(run.app)  # run execution | api | tick-writer | event-writer | lp-simulator
app.add_typer(pipelines.report, name="report")  # report daily | monthly
app.add_typer(pipelines.export, name="export")  # export emir | mifir
app.command()(pipelines.snapshot)
app.add_typer(staff.app)  # staff add
app.add_typer(audit.audit)  # audit verify | export
app.add_typer(audit.retention)  # retention purge
app.add_typer(sanctions.app)  # sanctions load
app.add_typer(automations.app)  # automations dry-run
app.add_typer(leads.app)  # leads site-key
app.add_typer(ledger.app)  # ledger check


def main() -> None:
    sys.exit(app())
