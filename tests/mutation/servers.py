"""Run a command with one embedded PostgreSQL and one Redis for its whole life.

``python -m tests.mutation.servers CMD ...``: mutmut runs the test session once per mutant (in a
fork); without this each session would start (and stop) its own servers. The command sees them
as ``BROKERSTACK_TEST_DATABASE_URL`` / ``BROKERSTACK_TEST_REDIS_URL``, which ``tests/conftest.py``
uses instead of starting servers; with ``BROKERSTACK_TEST_KEEP_TEMPLATES`` the migrated (and
seeded) template databases are made once too. The server runs without fsync: its data is
thrown away at the end, and each test's CREATE/DROP DATABASE would otherwise wait on the
disk. The folders carry an owner file (``tests/embedded_servers``),
so the servers of a killed run are stopped by the next test session.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from brokerstack.services import EmbeddedPostgres, EmbeddedRedis
from brokerstack.services.ports import free_port
from tests.embedded_servers import server_folder, stop_leftover_servers


def main(command: list[str]) -> int:
    stop_leftover_servers()
    with server_folder("postgres") as pg_folder, server_folder("redis") as redis_folder:
        postgres = EmbeddedPostgres(pg_folder / "pgdata", "127.0.0.1", free_port())
        redis = EmbeddedRedis(redis_folder, "127.0.0.1", free_port())
        postgres.start()
        try:
            with psycopg.connect(postgres.url, autocommit=True) as conn:
                conn.execute("ALTER SYSTEM SET fsync = off")
                conn.execute("ALTER SYSTEM SET synchronous_commit = off")
                conn.execute("ALTER SYSTEM SET full_page_writes = off")
                conn.execute("SELECT pg_reload_conf()")
            redis.start()
            try:
                env = {
                    **os.environ,
                    "BROKERSTACK_TEST_DATABASE_URL": postgres.url,
                    "BROKERSTACK_TEST_REDIS_URL": redis.url,
                    "BROKERSTACK_TEST_KEEP_TEMPLATES": "1",
                }
                return subprocess.call(command, env=env)
            finally:
                redis.stop()
        finally:
            postgres.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
