"""Connections to the warehouse and what the server it runs on can do.

The rest of the stack speaks libpq URLs (``postgresql://...``); SQLAlchemy (used only by
Alembic) needs the driver spelled out, so the translation lives here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import TupleRow

_LIBPQ_SCHEMES = ("postgresql://", "postgres://")
_SQLALCHEMY_SCHEME = "postgresql+psycopg://"

# The license under which TimescaleDB's compression, continuous aggregates and job policies
# are available; the Apache-licensed build offers hypertables only.
TIMESCALE_COMMUNITY_LICENSE = "timescale"


def sqlalchemy_url(libpq_url: str) -> str:
    """Turn ``postgresql://...`` into the psycopg 3 dialect URL SQLAlchemy expects."""
    if libpq_url.startswith(_SQLALCHEMY_SCHEME):
        return libpq_url
    for scheme in _LIBPQ_SCHEMES:
        if libpq_url.startswith(scheme):
            return _SQLALCHEMY_SCHEME + libpq_url[len(scheme) :]
    raise ValueError(f"not a PostgreSQL URL: {libpq_url.split('://', 1)[0]}://...")


def libpq_url(url: str) -> str:
    """The inverse of :func:`sqlalchemy_url`: psycopg wants the plain libpq form."""
    if url.startswith(_SQLALCHEMY_SCHEME):
        return "postgresql://" + url[len(_SQLALCHEMY_SCHEME) :]
    return url


def connect(url: str, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection[TupleRow]:
    """Open a psycopg 3 connection to the warehouse."""
    return psycopg.connect(libpq_url(url), autocommit=autocommit, **kwargs)


@dataclass(frozen=True, slots=True)
class TimescaleSupport:
    """What TimescaleDB offers on one server, as seen from one connection."""

    available: bool
    installed_version: str | None
    license: str | None

    @property
    def installed(self) -> bool:
        return self.installed_version is not None

    @property
    def hypertables(self) -> bool:
        return self.installed

    @property
    def community_features(self) -> bool:
        """Compression, continuous aggregates and policies (not in the Apache build)."""
        return self.installed and self.license == TIMESCALE_COMMUNITY_LICENSE


def detect_timescale(conn: psycopg.Connection[Any]) -> TimescaleSupport:
    """Ask the server whether TimescaleDB can be, or is, installed, and under which license.

    The license setting only exists once the extension's library is loaded, so it reads as
    ``None`` before ``CREATE EXTENSION`` on servers that do not preload it.
    """
    row = conn.execute(
        """
        SELECT
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
            (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
            current_setting('timescaledb.license', true)
        """
    ).fetchone()
    assert row is not None
    available, version, license_ = row
    return TimescaleSupport(
        available=bool(available),
        installed_version=version,
        license=license_ or None,
    )
