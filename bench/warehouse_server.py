"""A fresh warehouse for a benchmark: an embedded PostgreSQL in a temporary folder, a database
migrated to head and seeded with the reference data, removed afterwards."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from brokerstack.services import EmbeddedPostgres
from brokerstack.services.ports import free_port
from warehouse.migrate import upgrade
from warehouse.seed import seed


@contextmanager
def seeded_warehouse() -> Iterator[str]:
    """The URL of a migrated, seeded database that lives for the block."""
    with tempfile.TemporaryDirectory(prefix="brokerstack-bench-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pgdata", "127.0.0.1", free_port())
        postgres.start()
        try:
            with psycopg.connect(postgres.url, autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = postgres.url.rsplit("/", 1)[0] + "/bench"
            upgrade(url)
            with psycopg.connect(url) as conn:
                seed(conn)
            yield url
        finally:
            postgres.stop()
