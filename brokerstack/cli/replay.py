"""``brokerstack replay``: replay an account's trading day through the core and compare."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import psycopg
import typer

from brokerstack.cli.console import console, operator_errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings
from brokerstack.times import to_datetime
from execution.service.replay import ReplayError, replay_day


@operator_errors
def replay(
    account: Annotated[int, typer.Option(min=1, help="the account's id")],
    day: Annotated[
        str,
        typer.Option(help="the FX trade date, YYYY-MM-DD (17:00 New York the day before to 17:00)"),
    ],
    shard: Annotated[
        str, typer.Option(help="the execution shard that trades the account")
    ] = "main",
) -> None:
    """Replay one account's trading day from the journal; exit 1 at the first difference.

    The replay starts from the account's image at the cut before the day and feeds the core its
    commands, its group's prices, its LP fills and the cuts, in the journal's order. Every reply,
    deal and the closing image must be what was recorded.
    """
    try:
        trade_date = date.fromisoformat(day)
    except ValueError:
        raise BrokerstackError(f"--day {day!r} is not a date (YYYY-MM-DD)") from None
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        try:
            result = replay_day(conn, account, trade_date, shard)
        except ReplayError as exc:
            raise BrokerstackError(str(exc)) from exc
    window = f"{to_datetime(result.start).isoformat()} to {to_datetime(result.end).isoformat()}"
    console.print(f"account {account}, trade date {trade_date} ({window} UTC)", highlight=False)
    console.print(
        f"replayed {result.commands} commands, {result.prices} prices, {result.deals} deals",
        highlight=False,
    )
    if result.difference is not None:
        console.print(f"[bold red]differs:[/] {result.difference}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    closing = "and the closing image" if result.end_image else "(no closing image yet)"
    console.print(f"[green]matches[/] the journal: every reply, every deal {closing}")
