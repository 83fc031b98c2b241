"""Each supervised process's output in ``var/logs/<name>.log``, rotated by size.

The supervisor reads every child's stdout and stderr through a pipe and writes the lines
here, so rotation works the same for every child — PostgreSQL and Redis, the api's several
workers sharing one output, a traceback printed while a process dies — with no process
needing to know its file. ``<name>.log.1`` ... ``<name>.log.N`` hold the older output.
"""

from __future__ import annotations

import logging
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO


class ChildLog:
    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", errors="replace"
        )
        self._file.setFormatter(logging.Formatter("%(message)s"))
        self._readers: list[threading.Thread] = []

    def follow(self, output: IO[bytes], name: str) -> None:
        """Copy ``output`` into the file until the child (and whatever it forked) closes it."""
        reader = threading.Thread(target=self._copy, args=(output,), name=f"log-{name}")
        reader.daemon = True
        self._readers = [r for r in self._readers if r.is_alive()]
        self._readers.append(reader)
        reader.start()

    def write(self, line: str) -> None:
        self._file.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))

    def close(self, timeout: float = 2.0) -> None:
        for reader in self._readers:
            reader.join(timeout)
        self._file.close()

    def _copy(self, output: IO[bytes]) -> None:
        with output:
            for raw in iter(output.readline, b""):
                self.write(raw.decode("utf-8", "replace").rstrip("\n"))
