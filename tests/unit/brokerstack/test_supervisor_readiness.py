"""The supervisor waits for a child's ``/ready``, not for its port; and keeps its output in a
rotated file."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from brokerstack.errors import ServiceError
from brokerstack.services.ports import free_port
from brokerstack.stack_state import ChildState, read_state
from brokerstack.supervisor import ProcessSpec, RestartPolicy, Supervisor, ready_failures

# A child that opens its ops port at once, answers /ready 503 ("warming up") for a while, then
# notes that it serves and answers 200.
CHILD = textwrap.dedent(
    """
    import sys, time
    from brokerstack.ops import OpsServer, Readiness
    port, warm_up, marker = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    readiness = Readiness()
    readiness.set("start-up", "warming up")
    OpsServer("127.0.0.1", port, readiness).start()
    print("ops port open", flush=True)
    time.sleep(warm_up)
    open(marker, "w").write("serving")
    readiness.set("start-up", None)
    for n in range(200):
        print(f"line {n} " + "x" * 100, flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    supervisor = Supervisor(
        tmp_path / "logs",
        Console(quiet=True),
        tmp_path / "run" / "stack.json",
        RestartPolicy(first_delay=0.2, give_up_after=3),
        poll_seconds=0.05,
        log_max_bytes=4096,
        log_backups=2,
    )
    try:
        yield supervisor
    finally:
        supervisor.stop_all()


def _spec(tmp_path: Path, port: int, warm_up: float, timeout: float = 30) -> ProcessSpec:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marker = tmp_path / "serving"
    return ProcessSpec(
        name="warming",
        argv=[sys.executable, str(script), str(port), str(warm_up), str(marker)],
        ops_url=f"http://127.0.0.1:{port}",
        ready_timeout=timeout,
        stop_timeout=5,
    )


def test_start_returns_only_once_the_child_says_it_is_ready(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    port = free_port()
    supervisor.start(_spec(tmp_path, port, warm_up=2.0))
    assert (tmp_path / "serving").read_text() == "serving"  # not merely its port open
    assert httpx.get(f"http://127.0.0.1:{port}/ready").json() == {"ready": True}
    assert ready_failures(f"http://127.0.0.1:{port}") is None


def test_a_child_that_never_gets_ready_fails_the_start_naming_it(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ServiceError, match="warming did not get ready within 3"):
        supervisor.start(_spec(tmp_path, port, warm_up=60, timeout=3))
    assert time.monotonic() - started >= 3
    assert ready_failures(f"http://127.0.0.1:{port}") == {"start-up": "warming up"}


def test_what_is_missing_is_reported_and_a_closed_port_is_no_answer() -> None:
    port = free_port()
    failures = ready_failures(f"http://127.0.0.1:{port}")
    assert failures is not None
    assert "no answer" in failures["ops port"]


def test_a_childs_output_is_kept_in_a_size_rotated_log(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    supervisor.start(_spec(tmp_path, free_port(), warm_up=0.1))
    logs = tmp_path / "logs"
    deadline = time.monotonic() + 10
    while not (logs / "warming.log.2").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    supervisor.stop_all()
    files = sorted(p.name for p in logs.iterdir())
    assert files == ["warming.log", "warming.log.1", "warming.log.2"]  # two backups kept
    assert all(p.stat().st_size <= 4096 for p in logs.iterdir())
    text = "".join((logs / name).read_text() for name in reversed(files))
    assert "line 199 " in text  # the newest lines are kept; the oldest rotated away
    assert "ops port open" not in text


def test_a_child_that_dies_while_a_later_one_gets_ready_is_restarted_meanwhile(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    sleeper = ProcessSpec(
        name="server", argv=[sys.executable, "-c", "import time; time.sleep(600)"], stop_timeout=5
    )
    supervisor.start(sleeper)
    (first,) = [c.pid for c in _children(tmp_path) if c.name == "server"]
    assert first is not None
    killer = threading.Timer(0.5, os.kill, (first, signal.SIGKILL))
    killer.start()
    supervisor.start(_spec(tmp_path, free_port(), warm_up=3.0))  # the server dies meanwhile
    killer.join()
    (server,) = [c for c in _children(tmp_path) if c.name == "server"]
    assert server.restarts == 1
    assert server.phase == "running"
    assert server.pid not in (None, first)


def _children(tmp_path: Path) -> list[ChildState]:
    state = read_state(tmp_path / "run" / "stack.json")
    assert state is not None
    return state.children


def _noting(tmp_path: Path, name: str, after: tuple[str, ...] = ()) -> ProcessSpec:
    """A child that notes, as it starts, whether the warming child was serving already."""
    note = tmp_path / f"{name}.note"
    code = (
        "import os, sys, time; "
        f"open({str(note)!r}, 'w').write(str(os.path.exists({str(tmp_path / 'serving')!r}))); "
        "time.sleep(600)"
    )
    return ProcessSpec(name=name, argv=[sys.executable, "-c", code], after=after, stop_timeout=5)


def test_a_batch_starts_side_by_side_and_waits_for_what_each_names(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    warming = _spec(tmp_path, free_port(), warm_up=3.0)
    supervisor.start_all(
        [warming, _noting(tmp_path, "beside"), _noting(tmp_path, "behind", after=("warming",))]
    )
    # started while the warming child still warmed up, not after it
    assert _note(tmp_path / "beside.note") == "False"
    # started only once it said it was ready
    assert _note(tmp_path / "behind.note") == "True"
    # the stack's record lists them in the order given (the reverse of the stopping order)
    assert [c.name for c in _children(tmp_path)] == ["warming", "beside", "behind"]
    assert all(c.phase == "running" for c in _children(tmp_path))


def test_a_batch_fails_naming_the_child_that_never_gets_ready(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    late = _spec(tmp_path, free_port(), warm_up=60, timeout=2)
    with pytest.raises(ServiceError, match="warming did not get ready within 2"):
        supervisor.start_all([late, _noting(tmp_path, "behind", after=("warming",))])
    assert not (tmp_path / "behind.note").exists()  # never started


def _note(path: Path) -> str:
    deadline = time.monotonic() + 20
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path.name} was never written"
        time.sleep(0.05)
    return path.read_text()
