"""Shared fixtures: one PostgreSQL and one Redis per test session, a fresh database per test.

Servers are embedded (under the temp folder, see ``tests/embedded_servers.py``, which also stops
the servers a killed test run left behind) unless ``BROKERSTACK_TEST_DATABASE_URL`` /
``BROKERSTACK_TEST_REDIS_URL`` name real ones. Tests under ``tests/integration`` are marked
``integration`` and those under ``tests/timescale`` also ``timescale``, so ``-m "not integration"``
runs the unit tests alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from psycopg import sql

from brokerstack.services import EmbeddedPostgres, EmbeddedRedis
from brokerstack.services.ports import free_port
from tests.embedded_servers import server_folder, stop_leftover_servers

TESTS = Path(__file__).parent
_CLEARED = pytest.StashKey[list[Path]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_CLEARED] = stop_leftover_servers()


def pytest_report_header(config: pytest.Config) -> list[str]:
    cleared = config.stash.get(_CLEARED, [])
    return [f"stopped the servers a killed test run left in {path}" for path in cleared]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).relative_to(TESTS).parts
        if parts[0] == "integration":
            item.add_marker(pytest.mark.integration)
        elif parts[0] == "timescale":
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.timescale)


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _create_database(admin_url: str, name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    configured = os.environ.get("BROKERSTACK_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with server_folder("postgres") as folder:
        server = EmbeddedPostgres(folder / "pgdata", "127.0.0.1", free_port())
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    _create_database(pg_admin_url, name)
    try:
        yield with_database(pg_admin_url, name)
    finally:
        _drop_database(pg_admin_url, name)


def _fill_template(admin_url: str, name: str, seeded: bool) -> None:
    from warehouse.migrate import upgrade

    _create_database(admin_url, name)
    url = with_database(admin_url, name)
    upgrade(url)
    if seeded:
        from warehouse.seed import seed

        with psycopg.connect(url) as conn:
            seed(conn)


def _template(admin_url: str, seeded: bool) -> Iterator[str]:
    kind = "seeded" if seeded else "head"
    if os.environ.get("BROKERSTACK_TEST_KEEP_TEMPLATES"):
        # Set by tests/mutation/servers.py, whose server outlives many sessions run one after
        # another: the template is made by the first and kept (renamed once complete).
        name = f"template_{kind}_kept"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            found = exists.fetchone() is not None
        if not found:
            making = f"{name}_{uuid.uuid4().hex[:8]}"
            _fill_template(admin_url, making, seeded)
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(making), sql.Identifier(name)
                    )
                )
        yield name
        return
    name = f"template_{kind}_{uuid.uuid4().hex[:8]}"
    _fill_template(admin_url, name, seeded)
    try:
        yield name
    finally:
        _drop_database(admin_url, name)


@pytest.fixture(scope="session")
def _head_template(pg_admin_url: str) -> Iterator[str]:
    yield from _template(pg_admin_url, seeded=False)


@pytest.fixture(scope="session")
def _seeded_template(pg_admin_url: str) -> Iterator[str]:
    yield from _template(pg_admin_url, seeded=True)


def _clone(admin_url: str, template: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    _create_database(admin_url, name, template=template)
    try:
        yield with_database(admin_url, name)
    finally:
        _drop_database(admin_url, name)


@pytest.fixture
def db_url(pg_admin_url: str, _head_template: str) -> Iterator[str]:
    """A fresh database migrated to head (no reference data)."""
    yield from _clone(pg_admin_url, _head_template)


@pytest.fixture
def seeded_db_url(pg_admin_url: str, _seeded_template: str) -> Iterator[str]:
    """A fresh database migrated to head and seeded with reference data."""
    yield from _clone(pg_admin_url, _seeded_template)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    configured = os.environ.get("BROKERSTACK_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    with server_folder("redis") as folder:
        server = EmbeddedRedis(folder, "127.0.0.1", free_port())
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()
