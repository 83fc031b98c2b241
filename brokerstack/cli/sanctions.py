"""``brokerstack sanctions load``: a sanctions or PEP list file into the warehouse, then every
client screened against it.

The load is one transaction (a malformed file leaves nothing, naming its line); the
re-screening that follows runs in batches, each committed, so a large client base is
screened in bounded steps and an interrupted run is finished by the back-office worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import psycopg
import typer

from backoffice.aml.sanctions import ListFormat, ListSource, load_list_file
from backoffice.aml.screening import screen_due
from backoffice.audit import Actor
from brokerstack.cli.console import console, operator_errors
from brokerstack.services import database
from brokerstack.settings import load_settings

app = typer.Typer(name="sanctions", help="Sanctions and PEP lists.", no_args_is_help=True)

File = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@app.command("load")
@operator_errors
def load(
    file: File,
    alt: Annotated[
        Path | None,
        typer.Option("--alt", exists=True, dir_okay=False, help="OFAC alt.csv (aka names)"),
    ] = None,
    list_format: Annotated[
        str, typer.Option("--format", help="ofac (sdn.csv) or eu (consolidated list CSV)")
    ] = "ofac",
    source: Annotated[
        str | None, typer.Option(help="pep for a PEP list (default: by format)")
    ] = None,
    operator: Annotated[str, typer.Option(help="who loads (recorded in the audit log)")] = "cli",
    rescreen: Annotated[bool, typer.Option(help="screen every client after loading")] = True,
) -> None:
    """Load an OFAC SDN (with --alt) or EU consolidated list; re-screen every client."""
    if list_format not in ("ofac", "eu"):
        raise typer.BadParameter("ofac or eu", param_hint="--format")
    if source not in (None, "ofac_sdn", "eu_consolidated", "pep"):
        raise typer.BadParameter("ofac_sdn, eu_consolidated or pep", param_hint="--source")
    fmt: ListFormat = "ofac" if list_format == "ofac" else "eu"
    src: ListSource | None = source  # type: ignore[assignment]  # checked just above
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        result = load_list_file(
            conn, Actor.system(f"cli:{operator}"), file, alt_path=alt, list_format=fmt, source=src
        )
        conn.commit()
        if result.already_loaded:
            console.print(f"{file.name}: already loaded as list {result.list_id} — nothing changed")
        else:
            console.print(
                f"{file.name}: {result.entries:,} entries loaded as {result.source} "
                f"list {result.list_id}"
            )
        screened = 0
        while rescreen and (batch := screen_due(conn)):
            conn.commit()
            screened += batch
        if rescreen:
            console.print(f"{screened:,} clients screened")
