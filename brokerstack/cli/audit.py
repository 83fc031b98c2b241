"""``brokerstack audit verify | export`` and ``brokerstack retention purge``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from backoffice.audit.export import export_client
from backoffice.audit.retention import purge as purge_expired
from backoffice.audit.verify import chain_length, verify_chain
from backoffice.errors import Refused
from backoffice.kyc.content_removal import remove_purged_content
from brokerstack.cli.console import console, errors, operator_errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings

audit = typer.Typer(name="audit", help="The hash-chained audit trail.", no_args_is_help=True)
retention = typer.Typer(name="retention", help="Retention of expired records.",
                        no_args_is_help=True)  # fmt: skip


@audit.command("verify")
@operator_errors
def verify() -> None:
    """Recompute the chain; exit 1 naming the first broken record."""
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        broken = verify_chain(conn)
        count = chain_length(conn)
    if broken is not None:
        raise BrokerstackError(f"the audit chain is broken at {broken.describe()}")
    console.print(f"audit chain intact: {count} records")


@audit.command("export")
@operator_errors
def export(
    client: Annotated[int, typer.Option("--client", min=1, help="client id")],
    out: Annotated[
        Path | None, typer.Option(help="file to write (default: standard output)")
    ] = None,
) -> None:
    """Write one client's full trail as JSON lines, with the chain's hashes."""
    try:
        with database(load_settings()) as url, psycopg.connect(url) as conn:
            if out is None:
                count = export_client(conn, client, sys.stdout)
            else:
                with out.open("w", encoding="utf-8") as file:
                    count = export_client(conn, client, file)
    except Refused as exc:
        raise BrokerstackError(exc.message) from exc
    errors.print(f"{count} audit records of client {client}" + (f" in {out}" if out else ""))


@retention.command("purge")
@operator_errors
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list, remove nothing")] = False,
) -> None:
    """Remove the records whose retention period has ended, and record what was removed."""
    settings = load_settings()
    with database(settings) as url:
        with psycopg.connect(url) as conn:
            report = purge_expired(conn, dry_run=dry_run)
        if not dry_run:
            with psycopg.connect(url) as conn:
                contents = remove_purged_content(conn, settings)
            console.print(f"removed {contents} stored document contents")
    verb = "would remove" if dry_run else "removed"
    for item in report.removed:
        console.print(f"{verb} {item.kind}: {item.entity_type} {item.entity_id} of client "
                      f"{item.client_id} (kept until {item.retained_until:%Y-%m-%d})")  # fmt: skip
    totals = ", ".join(f"{n} {kind}" for kind, n in sorted(report.counts().items())) or "nothing"
    console.print(f"{verb} {totals} (run {report.run_id})")
    for kind, reason in report.kept.items():
        console.print(f"not purged, {kind}: {reason}")
