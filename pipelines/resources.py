"""The pipelines' resources: the warehouse and the data folders, configured from the stack's
settings in the composition root and swapped for test ones in tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg

from warehouse.db import connect


class Warehouse(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The warehouse, through psycopg (a replica in a scaled-out deployment)."""

    url: str

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection whose work commits when the block ends (and rolls back on error)."""
        with connect(self.url) as conn:
            yield conn


class DataFolders(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where files go: regulatory exports, analyst snapshots, archives, settlement files."""

    root: str

    def folder(self, *parts: str) -> Path:
        path = Path(self.root).joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def exports(self) -> Path:
        return self.folder("exports")

    @property
    def snapshots(self) -> Path:
        return self.folder("snapshots")

    @property
    def archive(self) -> Path:
        return self.folder("archive")

    @property
    def settlements(self) -> Path:
        """Incoming bank statements of the client-money accounts (a sensor watches it)."""
        return self.folder("settlements")
