"""Resolve the stack's PostgreSQL and Redis: configured servers, or embedded ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import redis

from brokerstack.errors import ServiceError
from brokerstack.services.postgres import EmbeddedPostgres
from brokerstack.services.redis_server import EmbeddedRedis
from brokerstack.settings import Settings

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "check_database",
    "check_redis",
    "database",
    "embedded_postgres",
    "embedded_redis",
    "unreachable",
]


def embedded_postgres(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(
        settings.data_path / "postgres" / "pgdata", settings.host, settings.postgres_port
    )


def embedded_redis(settings: Settings) -> EmbeddedRedis:
    return EmbeddedRedis(settings.data_path / "redis", settings.host, settings.redis_port)


def _reason(exc: BaseException) -> str:
    """The gist of a driver error: libpq's first line, minus its "connection ... failed:" lead."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    return text.splitlines()[0].rsplit("failed: ", 1)[-1].strip()


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or ''}{parts.path}"


def check_database(url: str, timeout: int = 5) -> str:
    """Connect once; return the server version or raise a one-line :class:`ServiceError`."""
    try:
        with psycopg.connect(url, connect_timeout=timeout) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        raise ServiceError(f"cannot reach the database at {_where(url)}: {_reason(exc)}") from exc
    return str(version[0]) if version else "unknown"


def check_redis(url: str, timeout: float = 5.0) -> str:
    """Ping once; return the server version or raise a one-line :class:`ServiceError`."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        with client:
            info = client.info("server")
    except (redis.RedisError, ValueError) as exc:
        raise ServiceError(f"cannot reach Redis at {_where(url)}: {_reason(exc)}") from exc
    return str(info.get("redis_version", "unknown"))


def unreachable(check: Callable[[str, int], str], url: str, timeout: int = 2) -> str | None:
    """None when ``check`` (:func:`check_database` or :func:`check_redis`) reaches ``url``;
    else the one line saying why not (what readiness checks report)."""
    try:
        check(url, timeout)
    except ServiceError as exc:
        return str(exc)
    return None


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield a reachable database URL, starting the embedded server for the block if needed.

    An embedded server already running (``brokerstack up`` in another terminal) is reused and
    left running; one started here is stopped when the block ends.
    """
    if settings.database_url is not None:
        url = str(settings.database_url)
        check_database(url)
        yield url
        return
    server = embedded_postgres(settings)
    started = server.start()
    try:
        check_database(server.url)
        yield server.url
    finally:
        if started:
            server.stop()
