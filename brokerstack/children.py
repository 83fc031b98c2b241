"""How the supervisor starts, signals and clears away one child process.

Each child leads its own session and process group: the terminal's Ctrl-C reaches only the
supervisor (which stops the services before the servers they write to), and whatever a child
forked (uvicorn's workers, PostgreSQL's backends) can be cleared with its group. Each child
also asks the kernel for a signal when the supervisor dies (``PR_SET_PDEATHSIG``), so a
``kill -9`` of ``brokerstack up`` leaves no process behind to hold a port or a data folder.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable
from contextlib import suppress

import psutil

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _stop_with_parent(signum: int, parent: int) -> Callable[[], None]:
    """Runs in the child between fork and exec, after any change of user (which would clear
    the setting)."""

    def prepare() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signum)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signum)

    return prepare


def spawn(
    argv: list[str],
    env: dict[str, str],
    stop_signal: int,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session of its own, its stdout and stderr on one pipe (``stdout``);
    the kernel sends it ``stop_signal`` when this process dies.

    The parent-death signal follows the thread that forks, not the process: only the
    supervisor's main thread may call this.
    """
    return subprocess.Popen(  # noqa: S603
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        user=user,
        start_new_session=True,
        preexec_fn=_stop_with_parent(stop_signal, os.getpid()),
    )


def clear_group(pgid: int) -> None:
    """Kill what is left of a child's process group (the child itself has exited or is to)."""
    if pgid <= 1 or pgid == os.getpgrp():  # never ours, never every process
        return
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def started_at(pid: int) -> float | None:
    """The start time of a running process (None when it is gone or a zombie): with the pid,
    it names the process even after the pid is reused."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.Error:
        return None


def still_running(pid: int, started: float) -> bool:
    """Whether the process that had ``pid`` and started at ``started`` still runs."""
    now = started_at(pid)
    return now is not None and abs(now - started) < 0.05
