"""``brokerstack automations dry-run RULE``: who a retention rule would hit if it ran now."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer
from rich.table import Table

from backoffice.crm.automations import dry_run as rule_dry_run
from backoffice.crm.errors import CrmError
from brokerstack.cli.console import console, operator_errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings

app = typer.Typer(name="automations", help="Retention automations.", no_args_is_help=True)


@app.command("dry-run")
@operator_errors
def dry_run(rule: Annotated[int, typer.Argument(min=1, help="the rule's id")]) -> None:
    """List the clients RULE would fire for now (changes nothing)."""
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        try:
            hits = rule_dry_run(conn, rule)
        except CrmError as exc:
            raise BrokerstackError(exc.message) from exc
    table = Table("client", "e-mail", "since", title=f"rule {rule}: {len(hits)} client(s)")
    for hit in hits:
        table.add_row(str(hit.client_id), hit.email, hit.since.isoformat())
    console.print(table)
