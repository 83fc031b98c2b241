"""The test session's embedded servers, and what a killed test run left of them.

Each server of a test session runs under a folder ``brokerstack-test-<kind>-*`` in the temp
folder, with an ``owner`` file naming the test process (pid and start time). A test run killed
with SIGKILL cannot stop its servers (PostgreSQL runs in the background, Redis is orphaned), so
the next run looks for folders whose owner is gone, stops the server in each and removes the
folder. A folder without an owner file is never touched: it may be a live run's, just created.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil

from brokerstack.children import started_at, still_running
from brokerstack.services import EmbeddedPostgres

PREFIX = "brokerstack-test-"


@contextmanager
def server_folder(kind: str, root: Path | None = None) -> Iterator[Path]:
    # Not pytest's tmp_path: pytest prunes old basetemp folders, which would pull the data
    # folder from under a server when two test sessions run at once on one machine.
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{kind}-", dir=root) as name:
        folder = Path(name)
        me = os.getpid()
        (folder / "owner").write_text(f"{me} {started_at(me)!r}")
        yield folder


def stop_leftover_servers(root: Path | None = None) -> list[Path]:
    """Stop the servers of test runs that died, and remove their folders; those cleared."""
    cleared = []
    for folder in sorted((root or Path(tempfile.gettempdir())).glob(f"{PREFIX}*-*")):
        try:
            pid, started = (folder / "owner").read_text().split()
            owner_alive = still_running(int(pid), float(started))
        except (OSError, ValueError):
            continue
        if owner_alive:
            continue
        if (folder / "pgdata").is_dir():
            # the port does not matter to pg_ctl stop, which finds the server by its folder
            EmbeddedPostgres(folder / "pgdata", "127.0.0.1", 0).stop()
        _stop_redis(folder / "redis.pid")
        shutil.rmtree(folder, ignore_errors=True)
        cleared.append(folder)
    return cleared


def _stop_redis(pid_file: Path, timeout: float = 10.0) -> None:
    try:
        process = psutil.Process(int(pid_file.read_text()))
        if "redis" not in process.name():
            return  # the pid was reused
    except (OSError, ValueError, psutil.Error):
        return
    with suppress(psutil.Error):
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while process.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.is_running():
            process.kill()
