"""What a running ``brokerstack up`` tells other commands: which processes it supervises.

The supervisor rewrites ``<data>/run/stack.json`` whenever a child starts, dies, is restarted
or stops; ``brokerstack status`` reads it, and the next ``up`` clears away any process it
names that outlived its supervisor. ``<data>/run/up.lock`` (an advisory lock the kernel drops
when its holder dies) keeps a second ``up`` off the same data folder.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import msgspec

from brokerstack.errors import ServiceError

ChildPhase = Literal["starting", "running", "restarting", "stopped", "gave up"]


class ChildState(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phase: ChildPhase
    pid: int | None = None  # None while it waits to be restarted, and once stopped
    started: float | None = None  # the process's start time (with pid, names it)
    restarts: int = 0
    last_exit: int | None = None  # exit code of the last death (negative: the signal)
    restart_at: float | None = None  # wall clock of the next start while restarting
    endpoint: str = ""
    listens: tuple[str, int] | None = None
    heartbeat: str | None = None  # Redis hash the process refreshes (LP sessions in it)
    ops_url: str | None = None  # its operations port: /health, /ready, /metrics


class StackState(msgspec.Struct, frozen=True, kw_only=True):
    supervisor_pid: int
    supervisor_started: float
    children: list[ChildState]


def state_path(data_path: Path) -> Path:
    return data_path / "run" / "stack.json"


def write_state(path: Path, state: StackState) -> None:
    """Replace the file at once, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_bytes(msgspec.json.encode(state))
    os.replace(partial, path)


def read_state(path: Path) -> StackState | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=StackState)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


@contextmanager
def exclusive_stack(data_path: Path) -> Iterator[None]:
    """Hold the data folder's ``up`` lock for the block, or fail naming who holds it."""
    lock = data_path / "run" / "up.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ServiceError(
                f"brokerstack up already runs on {data_path} (pid {holder}); "
                "stop it first or set BROKERSTACK_DATA_DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
