"""``brokerstack leads site-key BRAND``: a key for the brand's website to send leads with."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer

from backoffice.audit import Actor
from backoffice.crm.errors import CrmError
from backoffice.crm.site_keys import create_site_key
from brokerstack.cli.console import console, operator_errors
from brokerstack.errors import BrokerstackError
from brokerstack.services import database
from brokerstack.settings import load_settings

app = typer.Typer(name="leads", help="Lead capture.", no_args_is_help=True)


@app.command("site-key")
@operator_errors
def site_key(
    brand: Annotated[str, typer.Argument(help="the brand's code")],
    name: Annotated[str, typer.Option(help="which site uses it")] = "website",
) -> None:
    """Create a key for POST /v1/leads (header X-Brand-Key); it is shown only now."""
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        try:
            key = create_site_key(conn, Actor.system("cli"), brand, name)
        except CrmError as exc:
            raise BrokerstackError(exc.message) from exc
    console.print(key, highlight=False, soft_wrap=True)
