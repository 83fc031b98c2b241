"""Where the Dagster instance keeps its state: a database of its own ("dagster") on the
warehouse's server, and folders under the data folder. ``up``, ``migrate`` and the pipeline
commands all set the same environment, so the UI, the daemon and an operator's command see the
same runs."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from brokerstack.settings import Settings

DAGSTER_DATABASE = "dagster"


def dagster_database_url(database_url: str) -> str:
    """The warehouse's URL with the Dagster database in place of the warehouse's, for
    dagster-postgres: it speaks psycopg2 (it sends NOTIFY with a bind parameter, which
    psycopg 3's server-side binding refuses), so the driver is named."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2", path=f"/{DAGSTER_DATABASE}"))


def ensure_dagster_database(database_url: str) -> bool:
    """Create the Dagster database beside the warehouse unless it exists; whether it did."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DAGSTER_DATABASE,)
        ).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DAGSTER_DATABASE)))
        except psycopg.errors.DuplicateDatabase:
            return False  # created meanwhile by another process
    return True


def dagster_env(settings: Settings, database_url: str) -> dict[str, str]:
    """The environment dagster-webserver, dagster-daemon and in-process runs need.

    The instance runs from a folder under the data folder holding a copy of the configured
    dagster.yaml: Dagster writes its own files beside it, which belong with the data, not in
    the repository (which may be read-only)."""
    root = settings.data_path / "dagster"
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    configured = (settings.dagster_home_path / "dagster.yaml").read_text()
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != configured:
        partial = home / "dagster.yaml.partial"
        partial.write_text(configured)
        partial.replace(target)
    return {
        "DAGSTER_HOME": str(home),
        "BROKERSTACK_DAGSTER_DATABASE_URL": dagster_database_url(database_url),
        "BROKERSTACK_DAGSTER_ARTIFACTS": str(root / "storage"),
        "BROKERSTACK_DAGSTER_COMPUTE_LOGS": str(root / "logs"),
    }
