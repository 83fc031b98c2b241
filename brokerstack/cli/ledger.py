"""``brokerstack ledger check``: recompute every stored balance from the ledger's entries."""

from __future__ import annotations

import psycopg
import typer

from brokerstack.cli.console import console, errors, operator_errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings
from warehouse.ledger import check as check_ledger

app = typer.Typer(name="ledger", help="The double-entry ledger.", no_args_is_help=True)


@app.command("check")
@operator_errors
def check() -> None:
    """Recompute every guarded balance and hold from entries and open pending transfers, every
    transfer's and currency's sum; list what differs and exit 1 if anything does."""
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        report = check_ledger(conn)
    for d in report.differences:
        errors.print(f"ledger account {d.account_id}: {d.what} stored {d.stored:f}, "
                     f"derived {d.derived:f}")  # fmt: skip
    for transfer_id in report.unbalanced:
        errors.print(f"transfer {transfer_id} does not balance")
    for currency, total in report.currency_totals.items():
        errors.print(f"{currency} entries sum to {total:f}, not zero")
    if not report.ok:
        problems = len(report.differences) + len(report.unbalanced) + len(report.currency_totals)
        raise BrokerstackError(f"the ledger check found {problems} differences")
    console.print(f"ledger balanced: {report.transfers} transfers, "
                  f"{report.accounts} stored balances equal their entries")  # fmt: skip
