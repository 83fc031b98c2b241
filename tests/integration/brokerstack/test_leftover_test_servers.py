"""A test run killed with SIGKILL leaves its embedded servers running; the next run stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import redis

from brokerstack.services.ports import port_is_free
from tests.embedded_servers import server_folder, stop_leftover_servers

ROOT = Path(__file__).resolve().parents[3]

# What conftest does for a session: one PostgreSQL and one Redis, each in an owned folder.
A_TEST_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from brokerstack.services import EmbeddedPostgres, EmbeddedRedis
    from brokerstack.services.ports import free_port
    from tests.embedded_servers import server_folder
    root = Path(sys.argv[1])
    with server_folder("postgres", root) as pg, server_folder("redis", root) as rd:
        postgres = EmbeddedPostgres(pg / "pgdata", "127.0.0.1", free_port())
        postgres.start()
        cache = EmbeddedRedis(rd, "127.0.0.1", free_port())
        cache.start()
        print(postgres.port, cache.port, flush=True)
        time.sleep(600)
    """
)


def test_servers_of_a_killed_run_are_stopped_and_their_folders_removed(tmp_path: Path) -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", A_TEST_RUN, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        pg_port, redis_port = (int(p) for p in run.stdout.readline().split())
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        # what the killed run left: both servers still answer
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg_port}/postgres") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert redis.Redis(port=redis_port).ping()
        left = sorted(tmp_path.glob("brokerstack-test-*"))
        assert len(left) == 2

        with server_folder("postgres", tmp_path) as mine:  # a live run's folder
            cleared = stop_leftover_servers(tmp_path)
            assert mine.exists()

        assert cleared == left
        assert port_is_free("127.0.0.1", pg_port)
        assert port_is_free("127.0.0.1", redis_port)
        assert not any(path.exists() for path in left)
    finally:
        if run.poll() is None:
            run.kill()
        stop_leftover_servers(tmp_path)


def test_a_folder_without_an_owner_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "brokerstack-test-postgres-older"
    folder.mkdir()
    assert stop_leftover_servers(tmp_path) == []
    assert folder.exists()
