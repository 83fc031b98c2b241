"""Fixtures serving a real TimescaleDB (the PGlite WebAssembly build) to the tests in this folder.

``timescale_url`` is shared by the whole session; ``timescale_db_url`` is a brand-new database
per test. See README.md for what the server can and cannot do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.timescale.timescale_server import TimescaleServer, start_server


@pytest.fixture(scope="session")
def timescale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimescaleServer]:
    """The TimescaleDB test server, started once per session on a free loopback port."""
    server = start_server(tmp_path_factory.mktemp("timescale") / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def timescale_url(timescale_server: TimescaleServer) -> str:
    """libpq URL of the session's TimescaleDB; state is shared by every test that uses it."""
    return timescale_server.url


@pytest.fixture
def timescale_db_url(timescale_server: TimescaleServer) -> str:
    """libpq URL of a brand-new, empty TimescaleDB database (extension not yet created).

    The reset closes any connection left over from an earlier test.
    """
    timescale_server.reset()
    return timescale_server.url
