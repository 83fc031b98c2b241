"""``brokerstack migrate`` and ``brokerstack seed``: the warehouse's schema and reference data."""

from __future__ import annotations

import psycopg
import typer

from brokerstack.cli.console import console, operator_errors
from brokerstack.dagster_instance import ensure_dagster_database
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings
from warehouse.migrate import current, downgrade, head, upgrade
from warehouse.seed import seed as seed_reference_data


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
            ensure_dagster_database(url)
        console.print(f"warehouse at revision {current(url) or 'base'}")


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
