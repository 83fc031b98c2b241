"""``brokerstack status``: every process of the running stack, whether each is ready, and
where its metrics are scraped.

What runs comes from the supervisor's record (``brokerstack.stack_state``); whether it is ready
is asked of the process itself: the servers by a connection, every other process by its
operations port's ``/ready`` (which says what is missing). The execution service's heartbeat
in Redis carries its LP sessions. The exit code is 0 only when the stack runs and every part,
LP sessions included, is ready.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import redis
import typer
from rich.table import Table

from brokerstack.children import still_running
from brokerstack.cli.console import console, operator_errors
from brokerstack.cli.stack import redact, stack_endpoints
from brokerstack.errors import BrokerstackError
from brokerstack.services import check_database, check_redis, embedded_postgres
from brokerstack.settings import Settings, load_settings
from brokerstack.stack_state import ChildState, StackState, read_state, state_path
from brokerstack.streams import LpSessionStatus, decode_sessions
from brokerstack.supervisor import ready_failures
from warehouse.migrate import current

_SERVERS = ("postgres", "redis")


@operator_errors
def status() -> None:
    """Show every process of the running stack (pid, restarts, where, whether it answers)
    and the execution service's LP sessions."""
    settings = load_settings()
    state = read_state(state_path(settings.data_path))
    if state is not None and not still_running(state.supervisor_pid, state.supervisor_started):
        state = None  # a record left by a supervisor that died
    report = _Report(settings, state)
    console.print(report.processes())
    sessions = report.lp_sessions()
    if sessions is not None:
        console.print(sessions)
    if state is None:
        console.print(f"brokerstack up is not running on {settings.data_path}", soft_wrap=True)
    if state is None or not report.healthy:
        raise typer.Exit(1)


class _Report:
    def __init__(self, settings: Settings, state: StackState | None) -> None:
        self.settings = settings
        self.state = state
        self.endpoints = stack_endpoints(settings)
        self.children = {child.name: child for child in state.children} if state else {}
        self.healthy = True
        self._redis: redis.Redis | None = None

    def processes(self) -> Table:
        title = "brokerstack status"
        if self.state is not None:
            since = datetime.fromtimestamp(self.state.supervisor_started, UTC)
            title += f" (up since {since:%Y-%m-%d %H:%M:%S} UTC, supervisor pid "
            title += f"{self.state.supervisor_pid})"
        table = Table(title=title)
        for column in ("part", "pid", "restarts", "where", "metrics", "state"):
            table.add_column(column, overflow="fold")
        table.add_row(*self._with_metrics(self._server("postgres", self._postgres), None))
        table.add_row(*self._with_metrics(self._server("redis", self._redis_answer), None))
        for child in self.children.values():
            if child.name not in _SERVERS:
                row = self._columns(child, child.endpoint, self._probe)
                table.add_row(*self._with_metrics(row, child.ops_url))
        return table

    @staticmethod
    def _with_metrics(row: list[str], ops_url: str | None) -> list[str]:
        return [*row[:-1], f"{ops_url}/metrics" if ops_url else "-", row[-1]]

    def lp_sessions(self) -> Table | None:
        """The execution service's LP sessions, when it has said what they are."""
        execution = self.children.get("execution")
        if execution is None or execution.heartbeat is None:
            return None
        sessions = self._sessions(execution.heartbeat, execution.pid)
        table = Table(title="LP sessions (as the execution service sees them)")
        for column in ("lp", "session", "connects to", "state"):
            table.add_column(column)
        if sessions is None:
            table.add_row("-", "-", "-", "[red]unknown: no heartbeat from the running service")
            self.healthy = False
            return table
        for session in sessions:
            where = f"{session.host}:{session.port}" if session.host else "-"
            if not session.logged_on:
                self.healthy = False
            state = "logged on" if session.logged_on else "[red]not logged on"
            table.add_row(session.lp, session.role, where, state)
        return table

    # --- the parts ------------------------------------------------------------------------

    def _server(self, name: str, answer: Callable[[], str]) -> list[str]:
        configured = self.settings.database_url if name == "postgres" else self.settings.redis_url
        url = self.endpoints.database_url if name == "postgres" else self.endpoints.redis_url
        where = f"{redact(url)} ({'configured' if configured else 'embedded'})"
        child = self.children.get(name)
        if child is not None:
            return self._columns(child, where, lambda _: answer())
        return [name, "-", "-", where, self._answered(answer)]

    def _columns(
        self, child: ChildState, where: str, probe: Callable[[ChildState], str]
    ) -> list[str]:
        pid = str(child.pid) if child.pid is not None else "-"
        restarts = str(child.restarts)
        if child.phase == "restarting" and child.restart_at is not None:
            wait = max(child.restart_at - time.time(), 0)
            self.healthy = False
            return [child.name, pid, restarts, where, f"[yellow]restarting in {wait:.1f}s"]
        if child.phase != "running" or child.pid is None or child.started is None:
            self.healthy = False
            return [child.name, pid, restarts, where, f"[red]{child.phase}"]
        if not still_running(child.pid, child.started):
            self.healthy = False
            return [child.name, pid, restarts, where, "[red]not running"]
        return [child.name, pid, restarts, where, self._answered(lambda: probe(child))]

    def _answered(self, answer: Callable[[], str]) -> str:
        try:
            return f"answers: {answer()}"
        except BrokerstackError as exc:
            self.healthy = False
            return f"[red]{exc}"

    def _postgres(self) -> str:
        url = self.endpoints.database_url
        embedded = self.settings.database_url is None
        if (
            embedded
            and self.state is None
            and embedded_postgres(self.settings).running_port() is None
        ):
            raise BrokerstackError("not running")
        return f"PostgreSQL {check_database(url)}, schema {current(url) or 'base'}"

    def _redis_answer(self) -> str:
        return f"Redis {check_redis(self.endpoints.redis_url, timeout=2)}"

    def _probe(self, child: ChildState) -> str:
        if child.ops_url is not None:
            failures = ready_failures(child.ops_url)
            if failures is not None:
                missing = "; ".join(f"{name}: {why}" for name, why in failures.items())
                raise BrokerstackError(f"not ready: {missing}")
            return f"ready ({child.ops_url}/ready)"
        if child.listens is not None:
            return _port(*child.listens)
        return "running"

    def _sessions(self, key: str, pid: int | None) -> list[LpSessionStatus] | None:
        """The sessions the running service reported (None: it has not said yet)."""
        try:
            data, beating = self._client().hmget(key, ["sessions", "pid"])
        except redis.RedisError:
            return None
        if not isinstance(data, bytes) or beating is None or int(beating) != pid:
            return None
        return decode_sessions(data)

    def _client(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(
                self.endpoints.redis_url, socket_connect_timeout=2, socket_timeout=2
            )
        return self._redis


def _port(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=2):
            return f"accepts connections on {host}:{port}"
    except OSError as exc:
        raise BrokerstackError(f"nothing accepts connections on {host}:{port}") from exc
