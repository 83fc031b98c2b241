"""What every revision needs: raw SQL on Alembic's connection and the storage path chosen.

DDL goes straight to psycopg rather than through SQLAlchemy's ``text()``, which would read
``:name`` inside string literals (``'client:' || ...``) as bind parameters.
"""

from __future__ import annotations

from typing import Any, Literal, cast

import psycopg
from alembic import op

StoragePath = Literal["timescale", "plain"]


def raw_connection() -> psycopg.Connection[Any]:
    """The psycopg connection under Alembic's, inside the revision's transaction."""
    return cast(psycopg.Connection[Any], op.get_bind().connection.driver_connection)


def execute(sql: str) -> None:
    """Run one or more statements without parameter parsing."""
    raw_connection().execute(sql.encode())


def meta_value(key: str) -> str | None:
    row = (
        raw_connection()
        .execute("SELECT value FROM warehouse_meta WHERE key = %s", (key,))
        .fetchone()
    )
    return None if row is None else str(row[0])


def set_meta(key: str, value: str) -> None:
    raw_connection().execute(
        """
        INSERT INTO warehouse_meta (key, value) VALUES (%s, %s)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
        """,
        (key, value),
    )


def storage_path() -> StoragePath:
    return "timescale" if meta_value("storage_path") == "timescale" else "plain"


def community_features() -> bool:
    """Compression, continuous aggregates and policies may be used (Timescale license)."""
    return meta_value("timescale_community") == "true"
