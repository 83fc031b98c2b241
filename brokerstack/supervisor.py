"""Run the stack's processes side by side: restart the ones that die, stop them all in order.

``brokerstack up`` hands :class:`Supervisor` its :class:`ProcessSpec` lists: the embedded
servers first, then the services that write to them; the processes of a list start side by
side, each after those its spec names in ``after`` are ready. A child that dies is restarted
after a backoff that doubles with each quick death (the execution service recovers from the
warehouse on its own start); a child that keeps dying soon after starting makes the
supervisor give up, and ``up`` stops the stack saying why. Ctrl-C or SIGTERM stops the
children in reverse order, so the servers stop last. How a child is started (its own
session, the signal it gets when the supervisor dies) is in :mod:`brokerstack.children`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rich.console import Console

from brokerstack.children import clear_group, spawn, started_at, still_running
from brokerstack.errors import ServiceError
from brokerstack.logfiles import ChildLog
from brokerstack.stack_state import ChildPhase, ChildState, StackState, read_state, write_state


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process of the stack."""

    name: str
    argv: Sequence[str]
    endpoint: str = ""
    env: dict[str, str] = field(default_factory=dict)
    # When set, start() waits until this (host, port) accepts connections; status probes it.
    ready_port: tuple[str, int] | None = None
    # a generous default: on a busy two-core machine a process starting beside others takes
    # several times as long as alone
    ready_timeout: float = 120.0
    # When set, start() also waits until this says the process is ready.
    ready: Callable[[], bool] | None = None
    # The process's operations port (``http://host:port``): start() waits until its
    # ``/ready`` answers 200, status asks it, and ``/metrics`` is the process's scrape address.
    ops_url: str | None = None
    # A Redis hash the process refreshes while it works (the execution service's carries its
    # LP sessions, which status shows).
    heartbeat: str | None = None
    user: str | None = None  # run as this system user (PostgreSQL refuses to run as root)
    # Asks the process to shut down cleanly; also sent by the kernel if the supervisor dies.
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 20.0
    # The processes (by name) that must be ready before :meth:`Supervisor.start_all` starts
    # this one; the others of a batch start side by side.
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 0.5  # seconds before restarting a child that died
    max_delay: float = 30.0
    quick_seconds: float = 30.0  # a death this soon after starting counts as quick
    give_up_after: int = 5  # consecutive quick deaths


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0  # monotonic
    started_wall: float | None = None
    phase: ChildPhase = "starting"
    restarts: int = 0
    quick_deaths: int = 0
    last_exit: int | None = None
    restart_at: float = 0.0  # monotonic
    ready_by: float = 0.0  # monotonic: the deadline of the start under way
    checks_passed: int = 0  # of the start under way


class Supervisor:
    def __init__(
        self,
        log_dir: Path,
        console: Console,
        state_file: Path,
        policy: RestartPolicy = RestartPolicy(),
        poll_seconds: float = 0.2,
        log_max_bytes: int = 10 * 1024 * 1024,
        log_backups: int = 5,
    ) -> None:
        self.log_dir = log_dir
        self.log_max_bytes = log_max_bytes
        self.log_backups = log_backups
        self._logs: dict[str, ChildLog] = {}
        self.console = console
        self.state_file = state_file
        self.policy = policy
        self.poll_seconds = poll_seconds
        self._children: list[_Child] = []
        self._stop = threading.Event()
        self._started_wall = started_at(os.getpid()) or time.time()

    def start(self, spec: ProcessSpec) -> None:
        """Start a child and wait until it is ready (when its spec says how to tell)."""
        self.start_all([spec])

    def start_all(self, specs: Sequence[ProcessSpec], at_once: int | None = None) -> None:
        """Start children side by side and wait until each is ready (when its spec says how
        to tell): each once those it names in ``after`` are ready, at most ``at_once`` (one per
        CPU by default, at least two) getting ready at a time, in the order given otherwise.

        A child that dies before it is ready is restarted with the same backoff as one that
        dies later (what it waits for may be coming up too); one that keeps dying raises the
        reason to stop the stack, and one that lives but never gets ready raises after its
        ``ready_timeout``. The children started before keep being restarted meanwhile.
        """
        limit = at_once or max(2, os.cpu_count() or 1)
        batch = [_Child(spec) for spec in specs]
        self._children.extend(batch)
        self._record()
        names = {c.spec.name for c in batch}
        waiting, getting_ready, ready = list(batch), list[_Child](), set[str]()
        while waiting or getting_ready:
            for child in list(waiting):
                if len(getting_ready) >= limit:
                    break
                if all(name in ready or name not in names for name in child.spec.after):
                    waiting.remove(child)
                    getting_ready.append(child)
                    self._spawn_for_start(child)
            for child in list(getting_ready):
                if self._got_ready(child):
                    getting_ready.remove(child)
                    ready.add(child.spec.name)
            verdict = self._tend(starting=[*waiting, *getting_ready])
            if verdict is not None:
                raise ServiceError(verdict)
            if (waiting or getting_ready) and self._stop.wait(0.1):
                raise KeyboardInterrupt

    def _spawn_for_start(self, child: _Child) -> None:
        self._spawn(child)
        child.ready_by = time.monotonic() + child.spec.ready_timeout
        child.checks_passed = 0

    def _got_ready(self, child: _Child) -> bool:
        """One look at a child being started: whether it is ready now. Restarts it (after its
        backoff) when it died; raises when it keeps dying or is late."""
        spec, now = child.spec, time.monotonic()
        if child.process is None:  # died: waiting out its backoff
            if now >= child.restart_at:
                child.restarts += 1
                self._spawn_for_start(child)
            return False
        code = child.process.poll()
        if code is not None:
            verdict = self._died(child, code, now)
            if verdict is not None:
                raise ServiceError(verdict)
            return False
        checks = [
            c
            for c in (_listens(spec.ready_port), spec.ready, _ops_ready(spec.ops_url))
            if c is not None
        ]
        while child.checks_passed < len(checks) and checks[child.checks_passed]():
            child.checks_passed += 1
        if child.checks_passed == len(checks):
            return True
        if time.monotonic() > child.ready_by:
            raise ServiceError(f"{spec.name} did not get ready within {spec.ready_timeout}s")
        return False

    def supervise(self) -> str | None:
        """Restart children that die, until SIGINT / SIGTERM (None) or until one keeps dying
        soon after starting (the reason to stop the stack)."""
        with self._signals(self.request_stop):
            while not self._stop.wait(self.poll_seconds):
                verdict = self._tend()
                if verdict is not None:
                    return verdict
        return None

    def _tend(self, starting: Sequence[_Child] = ()) -> str | None:
        """Restart the children that died (all but those ``starting``, which
        :meth:`start_all` minds); the reason to stop the stack when one keeps dying."""
        now = time.monotonic()
        for child in self._children:
            if any(child is s for s in starting):
                continue
            if child.process is None:
                if child.phase == "restarting" and now >= child.restart_at:
                    child.restarts += 1
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is not None:
                verdict = self._died(child, code, now)
                if verdict is not None:
                    return verdict
        return None

    def request_stop(self) -> None:
        """Make :meth:`supervise` return (what SIGINT and SIGTERM do)."""
        self._stop.set()

    def stop_all(self) -> None:
        """Stop every child, the last started first; further signals are ignored meanwhile."""
        with self._signals(lambda: None):
            for child in reversed(self._children):
                if self._stop_child(child):
                    self.console.print(f"stopped {child.spec.name}")
            self._children.clear()
            for log in self._logs.values():
                log.close()
            self._logs.clear()
            self.state_file.unlink(missing_ok=True)

    # --- one child ------------------------------------------------------------------------

    def _spawn(self, child: _Child) -> None:
        spec = child.spec
        process = spawn(list(spec.argv), {**os.environ, **spec.env}, spec.stop_signal, spec.user)
        log = self._logs.get(spec.name)
        if log is None:
            log = ChildLog(self._log(spec), self.log_max_bytes, self.log_backups)
            self._logs[spec.name] = log
        assert process.stdout is not None
        log.follow(process.stdout, spec.name)
        child.process = process
        child.started = time.monotonic()
        child.started_wall = started_at(process.pid)
        child.phase = "running"
        self._record()

    def _died(self, child: _Child, code: int, now: float) -> str | None:
        assert child.process is not None
        clear_group(child.process.pid)
        lived = now - child.started
        child.process, child.started_wall, child.last_exit = None, None, code
        quick = lived < self.policy.quick_seconds
        child.quick_deaths = child.quick_deaths + 1 if quick else 1
        name, log = child.spec.name, self._log(child.spec)
        if quick and child.quick_deaths >= self.policy.give_up_after:
            child.phase = "gave up"
            self._record()
            return (
                f"{name} died {child.quick_deaths} times in a row, each within "
                f"{self.policy.quick_seconds:.0f}s of starting (last: {_exit(code)}); "
                f"giving up and stopping the stack; see {log}"
            )
        delay = min(self.policy.first_delay * 2 ** (child.quick_deaths - 1), self.policy.max_delay)
        child.phase, child.restart_at = "restarting", now + delay
        self._record()
        self.console.print(
            f"[yellow]{name} {_exit(code)} after {lived:.1f}s; restarting in {delay:.1f}s "
            f"(see {log})",
            soft_wrap=True,
        )
        return None

    def _stop_child(self, child: _Child) -> bool:
        """Stop a child; False when it was not running."""
        process = child.process
        if process is None:
            return False
        if process.poll() is None:
            process.send_signal(child.spec.stop_signal)
            try:
                process.wait(child.spec.stop_timeout)
            except subprocess.TimeoutExpired:
                self.console.print(f"[yellow]{child.spec.name} did not stop; killing it")
                process.kill()
                process.wait()
        clear_group(process.pid)
        child.process, child.phase = None, "stopped"
        self._record()
        return True

    # --- bookkeeping ----------------------------------------------------------------------

    def _log(self, spec: ProcessSpec) -> Path:
        return self.log_dir / f"{spec.name}.log"

    def _record(self) -> None:
        wall_offset = time.time() - time.monotonic()
        write_state(
            self.state_file,
            StackState(
                supervisor_pid=os.getpid(),
                supervisor_started=self._started_wall,
                children=[
                    ChildState(
                        name=child.spec.name,
                        phase=child.phase,
                        pid=child.process.pid if child.process is not None else None,
                        started=child.started_wall,
                        restarts=child.restarts,
                        last_exit=child.last_exit,
                        restart_at=(
                            child.restart_at + wall_offset if child.phase == "restarting" else None
                        ),
                        endpoint=child.spec.endpoint,
                        listens=child.spec.ready_port,
                        heartbeat=child.spec.heartbeat,
                        ops_url=child.spec.ops_url,
                    )
                    for child in self._children
                ],
            ),
        )

    @contextmanager
    def _signals(self, action: Callable[[], None]) -> Iterator[None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            action()

        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, handler)
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _listens(where: tuple[str, int] | None) -> Callable[[], bool] | None:
    """Whether ``where`` accepts connections (None: nothing to wait for)."""
    if where is None:
        return None

    def listens() -> bool:
        try:
            with socket.create_connection(where, timeout=0.5):
                return True
        except OSError:
            return False

    return listens


def _ops_ready(ops_url: str | None) -> Callable[[], bool] | None:
    """Whether the process's ``/ready`` answers 200 (a refused connection: not yet)."""
    if ops_url is None:
        return None

    def ready() -> bool:
        return ready_failures(ops_url) is None

    return ready


def ready_failures(ops_url: str, timeout: float = 2.0) -> dict[str, str] | None:
    """None when ``ops_url``'s ``/ready`` answers 200; else what it says is missing (or why
    it did not answer)."""
    try:
        with urllib.request.urlopen(f"{ops_url}/ready", timeout=timeout) as response:  # noqa: S310
            response.read()
            return None
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            body = {}
        failures = {str(k): str(v) for k, v in body.items() if k != "ready"}
        return failures or {"ready": f"HTTP {exc.code}"}
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"ops port": f"no answer at {ops_url} ({reason})"}


def _exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def brokerstack_run(process: str, *args: str) -> list[str]:
    """argv of ``brokerstack run <process> ...`` with this interpreter (what ``up`` starts)."""
    return [sys.executable, "-m", "brokerstack", "run", process, *args]


def stop_leftovers(state_file: Path, timeout: float = 15.0) -> list[str]:
    """Stop what a supervisor that died left running (each child's whole group), so a new
    stack starts clean; the names of the children found."""
    state = read_state(state_file)
    if state is None:
        return []
    left = {
        child.name: (child.pid, child.started)
        for child in state.children
        if child.pid is not None
        and child.started is not None
        and still_running(child.pid, child.started)
    }
    for pid, _ in left.values():
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(still_running(*p) for p in left.values()):
        time.sleep(0.1)
    for pid, _ in left.values():
        clear_group(pid)
    state_file.unlink(missing_ok=True)
    return list(left)
