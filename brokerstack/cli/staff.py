"""``brokerstack staff add``: a staff user from the command line (the first admin)."""

from __future__ import annotations

import secrets
from typing import Annotated

import psycopg
import typer

from backoffice.errors import Refused
from backoffice.staff.users import add_staff
from brokerstack.cli.console import console, operator_errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings

app = typer.Typer(name="staff", help="Back-office staff users.", no_args_is_help=True)


@app.command("add")
@operator_errors
def add(
    email: Annotated[str, typer.Option(help="the staff member's e-mail (their login)")],
    name: Annotated[str, typer.Option(help="display name")],
    role: Annotated[list[str], typer.Option(help="a role code (repeat for more)")],
    brand: Annotated[
        list[str] | None,
        typer.Option(help="a brand code (repeat for more); none: every brand for an admin"),
    ] = None,
    ask_password: Annotated[
        bool, typer.Option("--ask-password", help="type the password instead of a generated one")
    ] = False,
) -> None:
    """Create a staff user; prints a one-time password (unless asked for one) and, for roles
    that need a second factor, the TOTP enrolment URI for an authenticator app."""
    password = (
        typer.prompt("password", hide_input=True, confirmation_prompt=True)
        if ask_password
        else secrets.token_urlsafe(15)
    )
    try:
        with database(load_settings()) as url, psycopg.connect(url) as conn:
            new = add_staff(conn, email, name, password, role, brand or [])
    except Refused as exc:
        raise BrokerstackError(exc.message + _field(exc)) from exc
    user = new.user
    brands = "every brand" if user.brand_ids is None else f"brands {user.brand_ids or 'none'}"
    console.print(f"staff user {user.id} {user.email}: {', '.join(user.roles)}; {brands}")
    if not ask_password:
        console.print(f"one-time password: {password}", highlight=False)
    if new.totp is not None:
        console.print(f"TOTP enrolment URI: {new.totp.provisioning_uri}", highlight=False,
                      soft_wrap=True)  # fmt: skip
        console.print("log in, then confirm a code at POST /v1/admin/auth/totp/confirm; "
                      "the code is required from the next login on")  # fmt: skip


def _field(exc: Refused) -> str:
    fields = exc.details.get("fields") or []
    return f": {fields[0]['message']}" if fields else ""
