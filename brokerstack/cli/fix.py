"""``brokerstack fix ...``: operating the LP sessions of the running execution service."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer
from rich.table import Table

from brokerstack.cli.console import console, operator_errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings
from execution.fix.config import Role
from execution.fix.resets import SequenceResetError, request_sequence_reset

app = typer.Typer(name="fix", help="LP sessions over FIX.", no_args_is_help=True)


@app.command("reset-sequence")
@operator_errors
def reset_sequence(
    lp: Annotated[str, typer.Argument(help="LP code, e.g. lp-alpha")],
    role: Annotated[Role, typer.Argument(help="which of its sessions")],
    operator: Annotated[str, typer.Option(help="who asks (recorded in the audit log)")],
    reason: Annotated[str, typer.Option(help="why (recorded in the audit log)")],
    next_sender: Annotated[
        int | None, typer.Option(min=1, help="our next outgoing MsgSeqNum")
    ] = None,
    next_target: Annotated[
        int | None, typer.Option(min=1, help="the next MsgSeqNum we expect from the LP")
    ] = None,
    timeout: Annotated[float, typer.Option(min=1, help="seconds to wait for the service")] = 30,
) -> None:
    """Reset a session's sequence numbers in the running execution service, audited.

    With neither number given, both sides go back to 1: the session logs out and logs on
    again with ResetSeqNumFlag (agree it with the LP first). Orders in flight are asked for
    at the logon.
    """
    try:
        with database(load_settings()) as url, psycopg.connect(url) as conn:
            outcome = request_sequence_reset(
                conn, lp, role, operator, reason, next_sender, next_target, timeout
            )
    except SequenceResetError as exc:
        raise BrokerstackError(str(exc)) from exc
    table = Table(title=f"{lp} {role.value} session, reset request {outcome.request_id}")
    for column in ("", "next sent", "next expected"):
        table.add_column(column)
    for name, numbers in (("before", outcome.before), ("after", outcome.after)):
        table.add_row(name, str(numbers["next_sender"]), str(numbers["next_target"]))
    console.print(table)
    if outcome.after.get("reset_seq_num_flag"):
        console.print("the session logs on again with ResetSeqNumFlag=Y")
