"""Runs ``server.mjs``, a real TimescaleDB (the PGlite WebAssembly build), under node.

Its packages are installed from this folder's ``package-lock.json``. It is one single-session
PostgreSQL 17 with TimescaleDB 2.23: see README.md for its limits.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO

import pytest

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
# Kept inside node_modules so that `npm ci` (which deletes the folder) also drops the stamp.
INSTALL_STAMP = NODE_MODULES / ".brokerstack-lock-sha256"
START_TIMEOUT_S = 120.0
RESET_TIMEOUT_S = 60.0


class TimescaleServer:
    """A running ``server.mjs``: its URL, and a reset to a brand-new in-memory database."""

    def __init__(self, process: subprocess.Popen[str], log_path: Path) -> None:
        self._process = process
        self._log_path = log_path
        self._lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=self._read_lines, args=(process.stdout,), daemon=True).start()
        ready = self._expect("READY ", START_TIMEOUT_S)
        self.port = int(ready.removeprefix("READY "))

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def reset(self) -> None:
        """Closes every connection and starts over from an empty database (no extensions)."""
        assert self._process.stdin is not None
        self._process.stdin.write("RESET\n")
        self._process.stdin.flush()
        self._expect("RESET DONE", RESET_TIMEOUT_S)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdin is not None:
            self._process.stdin.close()

    def _read_lines(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))

    def _expect(self, prefix: str, timeout_s: float) -> str:
        try:
            while True:
                line = self._lines.get(timeout=timeout_s)
                if line.startswith(prefix):
                    return line
        except queue.Empty:
            self.stop()
            log = self._log_path.read_text(errors="replace")[-4000:]
            exit_code = self._process.returncode
            raise RuntimeError(
                f"TimescaleDB test server did not answer {prefix.strip()!r} within {timeout_s}s "
                f"(exit code {exit_code}); its log:\n{log}"
            ) from None


def find_node() -> str:
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed: the TimescaleDB (WebAssembly) test server needs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI must install node)")
        pytest.skip(reason)
    return node


def _lock_digest() -> str:
    return hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()


def _install_packages() -> None:
    """Runs ``npm ci`` unless node_modules was installed from the current lock file."""
    digest = _lock_digest()
    if INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text().strip() == digest:
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: it installs the TimescaleDB test server's packages")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci failed in {HERE}:\n{result.stdout}\n{result.stderr}")
    INSTALL_STAMP.write_text(digest)


def start_server(log_path: Path) -> TimescaleServer:
    """Installs the packages if needed and starts the server on a free loopback port.

    Skips the calling test when node is missing, except on CI (``CI=true``) where it fails.
    """
    node = find_node()
    _install_packages()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [node, str(HERE / "server.mjs"), "--port", "0", "--control-stdin"],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    return TimescaleServer(process, log_path)
