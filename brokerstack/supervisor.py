"""Run the stack's processes side by side and stop them all cleanly.

``brokerstack up`` builds a list of :class:`ProcessSpec` (each later issue adds its own) and hands
it to :class:`Supervisor`, which starts them in order, watches them, and on Ctrl-C / SIGTERM or
the death of any one stops the rest in reverse order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from brokerstack.errors import ServiceError
from brokerstack.services.ports import wait_for_port


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process of the stack."""

    name: str
    argv: Sequence[str]
    endpoint: str = ""
    env: dict[str, str] = field(default_factory=dict)
    # When set, start() waits until this (host, port) accepts connections.
    ready_port: tuple[str, int] | None = None
    ready_timeout: float = 60.0


@dataclass
class _Running:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]


class Supervisor:
    def __init__(self, log_dir: Path, console: Console) -> None:
        self.log_dir = log_dir
        self.console = console
        self._running: list[_Running] = []
        self._stop = threading.Event()

    def start(self, spec: ProcessSpec) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{spec.name}.log").open("ab")
        env = {**os.environ, **spec.env}
        process = subprocess.Popen(  # noqa: S603
            list(spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )
        self._running.append(_Running(spec, process))
        if spec.ready_port is not None:
            host, port = spec.ready_port
            try:
                wait_for_port(host, port, spec.ready_timeout, spec.name)
            except ServiceError:
                if process.poll() is not None:
                    raise ServiceError(
                        f"{spec.name} exited with code {process.returncode}; "
                        f"see {self.log_dir / (spec.name + '.log')}"
                    ) from None
                raise

    def wait(self, on_exit: Callable[[str, int], None]) -> None:
        """Block until a signal arrives or a child dies."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, lambda *_: self._stop.set())
        try:
            while not self._stop.wait(0.5):
                for running in self._running:
                    code = running.process.poll()
                    if code is not None:
                        on_exit(running.spec.name, code)
                        return
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_all(self, timeout: float = 20.0) -> None:
        for running in reversed(self._running):
            process = running.process
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.console.print(f"[yellow]{running.spec.name} did not stop; killing it")
                    process.kill()
                    process.wait()
            self.console.print(f"stopped {running.spec.name}")
        self._running.clear()


def python_module(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
