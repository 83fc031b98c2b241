"""The supervisor with real child processes: restarts with backoff, giving up, stopping in
reverse order, children that stop with their supervisor, leftovers cleared."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from brokerstack.children import still_running
from brokerstack.stack_state import ChildState, StackState, read_state, write_state
from brokerstack.supervisor import ProcessSpec, RestartPolicy, Supervisor, stop_leftovers

FAST = RestartPolicy(first_delay=0.2, max_delay=5.0, quick_seconds=10.0, give_up_after=3)

# A child that notes each start (and its stop on SIGTERM) in a shared file, then sleeps or exits.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    name, notes, lives = sys.argv[1], sys.argv[2], sys.argv[3]
    def note(what):
        with open(notes, "a") as f:
            f.write(f"{what} {name} {os.getpid()} {time.monotonic()}\\n")
    def stop(signum, frame):
        note("stopped")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    note("started")
    if lives == "dies":
        sys.exit(3)
    time.sleep(600)
    """
)


@pytest.fixture
def child(tmp_path: Path) -> Callable[[str, str], ProcessSpec]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)

    def spec(name: str, lives: str = "lives") -> ProcessSpec:
        argv = [sys.executable, str(script), name, str(tmp_path / "notes"), lives]
        return ProcessSpec(name=name, argv=argv, stop_timeout=10)

    return spec


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    supervisor = Supervisor(
        tmp_path / "logs",
        Console(quiet=True),
        tmp_path / "run" / "stack.json",
        FAST,
        poll_seconds=0.05,
    )
    try:
        yield supervisor
    finally:
        supervisor.stop_all()


def _notes(tmp_path: Path) -> list[tuple[str, str, int, float]]:
    path = tmp_path / "notes"
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(what, name, int(pid), float(at)) for what, name, pid, at in rows]


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _started(tmp_path: Path, name: str) -> list[int]:
    return [pid for what, who, pid, _ in _notes(tmp_path) if what == "started" and who == name]


def test_a_child_that_dies_is_restarted_and_the_others_keep_running(
    supervisor: Supervisor, child: Callable[..., ProcessSpec], tmp_path: Path
) -> None:
    supervisor.start(child("steady"))
    supervisor.start(child("victim"))
    _wait_for(lambda: len(_started(tmp_path, "victim")) == 1)
    (steady,), (victim,) = _started(tmp_path, "steady"), _started(tmp_path, "victim")

    def kill_then_stop() -> None:
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: len(_started(tmp_path, "victim")) == 2)
        supervisor.request_stop()

    killer = threading.Thread(target=kill_then_stop)
    killer.start()
    verdict = supervisor.supervise()
    killer.join()

    assert verdict is None
    state = read_state(tmp_path / "run" / "stack.json")
    assert state is not None
    by_name = {c.name: c for c in state.children}
    restarted = _started(tmp_path, "victim")[1]
    assert (by_name["victim"].pid, by_name["victim"].restarts) == (restarted, 1)
    assert by_name["victim"].last_exit == -signal.SIGKILL
    assert (by_name["steady"].pid, by_name["steady"].restarts) == (steady, 0)
    assert _started(tmp_path, "steady") == [steady]


def test_a_child_that_keeps_dying_on_start_makes_it_give_up_after_growing_pauses(
    supervisor: Supervisor, child: Callable[..., ProcessSpec], tmp_path: Path
) -> None:
    supervisor.start(child("steady"))
    supervisor.start(child("broken", "dies"))

    verdict = supervisor.supervise()

    assert verdict is not None
    assert "broken died 3 times in a row" in verdict
    assert "exited with code 3" in verdict
    starts = [at for what, who, _, at in _notes(tmp_path) if what == "started" and who == "broken"]
    assert len(starts) == 3
    gaps = [later - earlier for earlier, later in pairwise(starts)]
    # pauses of 0.2 s, then 0.4 s (each start also takes the interpreter's start-up time)
    assert gaps[0] >= 0.2
    assert gaps[1] >= 0.4
    state = read_state(tmp_path / "run" / "stack.json")
    assert state is not None
    assert {c.name: c.phase for c in state.children} == {"steady": "running", "broken": "gave up"}


def test_stop_all_stops_the_last_started_first_and_forgets_the_stack(
    supervisor: Supervisor, child: Callable[..., ProcessSpec], tmp_path: Path
) -> None:
    for name in ("server", "service", "client"):
        supervisor.start(child(name))
    _wait_for(lambda: len(_notes(tmp_path)) == 3)
    pids = {who: pid for _, who, pid, _ in _notes(tmp_path)}
    # each child leads a session of its own: the terminal's Ctrl-C does not reach it
    assert all(os.getsid(pid) == pid for pid in pids.values())

    supervisor.stop_all()

    stopped = [who for what, who, _, _ in _notes(tmp_path) if what == "stopped"]
    assert stopped == ["client", "service", "server"]
    assert not (tmp_path / "run" / "stack.json").exists()


def test_children_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    (tmp_path / "child.py").write_text(CHILD)
    script = tmp_path / "supervise.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            from rich.console import Console
            from brokerstack.supervisor import ProcessSpec, Supervisor
            tmp = Path({str(tmp_path)!r})
            supervisor = Supervisor(tmp / "logs", Console(), tmp / "run" / "stack.json")
            for name in ("one", "two"):
                argv = [sys.executable, str(tmp / "child.py"), name, str(tmp / "notes"), "lives"]
                supervisor.start(ProcessSpec(name=name, argv=argv))
            supervisor.supervise()
            """
        )
    )
    root = Path(__file__).resolve().parents[3]
    process = subprocess.Popen([sys.executable, str(script)], cwd=root)
    try:
        _wait_for(lambda: len(_notes(tmp_path)) == 2)
        process.kill()
        process.wait()
        children = [pid for _, _, pid, _ in _notes(tmp_path)]
        # the kernel's parent-death signal is SIGTERM: each child notes it and exits
        _wait_for(
            lambda: sorted(w for w, *_ in _notes(tmp_path)) == ["started"] * 2 + ["stopped"] * 2
        )
        _wait_for(lambda: not any(_alive(pid) for pid in children))
    finally:
        if process.poll() is None:
            process.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_next_supervisor_stops_what_a_dead_one_left_running(
    tmp_path: Path, child: Callable[..., ProcessSpec]
) -> None:
    spec = child("orphan")
    orphan = subprocess.Popen(list(spec.argv), start_new_session=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        _wait_for(lambda: len(_notes(tmp_path)) == 1)
        state_file = tmp_path / "run" / "stack.json"
        write_state(
            state_file,
            StackState(
                supervisor_pid=999_999,
                supervisor_started=0.0,
                children=[
                    ChildState(
                        name="orphan", phase="running", pid=orphan.pid, started=_start(orphan.pid)
                    ),
                    # a recorded pid now used by another process must be left alone
                    ChildState(
                        name="reused",
                        phase="running",
                        pid=bystander.pid,
                        started=_start(bystander.pid) - 1000,
                    ),
                ],
            ),
        )

        assert stop_leftovers(state_file) == ["orphan"]

        assert orphan.wait(timeout=10) == 0  # stopped with SIGTERM, cleanly
        assert bystander.poll() is None
        assert not state_file.exists()
    finally:
        for process in (orphan, bystander):
            if process.poll() is None:
                process.kill()
                process.wait()


def _start(pid: int) -> float:
    return psutil.Process(pid).create_time()


def test_still_running_tells_a_reused_pid_apart() -> None:
    me = os.getpid()
    assert still_running(me, _start(me))
    assert not still_running(me, _start(me) - 10)
