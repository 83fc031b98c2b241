"""A whole analyst snapshot: every table of the policy out of the warehouse in ONE read-only
repeatable-read transaction (so the tables agree with each other: no deal without its
account), into a new build folder, checked against the warehouse's own counts, then swapped
in as ``current``.

A full rebuild rather than per-day increments: positions, orders, accounts and clients change
long after the day they were made, the snapshot is meant to be one moment of the warehouse,
and a swap needs a whole build anyway.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from pipelines.resources import DataFolders
from pipelines.snapshots import builds, catalog, export
from pipelines.snapshots.policy import TABLES, Table
from warehouse.db import connect

Progress = Callable[[str, int], None]


class SnapshotError(RuntimeError):
    """A build that does not match the warehouse; it was not made current."""


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    build: str  # the build's id (its folder's name)
    path: Path  # builds/<id>
    database: Path  # builds/<id>/analytics.duckdb
    current: Path  # snapshots/current (now pointing at path)
    rows: Mapping[str, int]  # per table (view name)
    left_out: Mapping[str, tuple[str, ...]]  # warehouse columns the policy does not keep
    missing: Mapping[str, tuple[str, ...]]  # kept columns the warehouse does not have
    removed: tuple[str, ...]  # older builds deleted


def build_snapshot(
    warehouse_url: str,
    folders_root: Path,
    progress: Progress | None = None,
    tables: tuple[Table, ...] = TABLES,
) -> SnapshotResult:
    """Build a snapshot of the warehouse under ``<folders_root>/snapshots`` and make it current.

    ``progress(table, rows)`` is told the rows written so far as each table goes (and once
    with its total when it is done). Raises :class:`SnapshotError`, leaving ``current`` as it
    was, when the files written do not hold the rows the warehouse counted.
    """
    root = DataFolders(root=str(folders_root)).snapshots
    with builds.build_lock(root):
        started = datetime.now(UTC)
        salt = builds.salt(root)
        build = builds.new_build(root, started)
        try:
            exported = _export_all(warehouse_url, build, salt, tables, progress)
            rows, partitioned, left_out, missing = exported
            catalog.create_views(build, partitioned)
            manifest = builds.Manifest(build.name, datetime.now(UTC), rows, partitioned)
            builds.finish(build, manifest)
            found = catalog.problems(build)
            if found:
                raise SnapshotError(f"build {build.name} not made current: " + "; ".join(found))
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)  # never a finished-looking failed build
            raise
        builds.swap(root, build)
        removed = builds.prune(root, datetime.now(UTC))
    return SnapshotResult(
        build.name, build, build / builds.DATABASE, root / builds.CURRENT,
        rows, left_out, missing, tuple(removed),
    )  # fmt: skip


def _export_all(
    url: str, build: Path, salt: bytes, tables: tuple[Table, ...], progress: Progress | None
) -> tuple[dict[str, int], dict[str, bool], dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    rows: dict[str, int] = {}
    partitioned: dict[str, bool] = {}
    left_out: dict[str, tuple[str, ...]] = {}
    missing: dict[str, tuple[str, ...]] = {}
    with connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        export.session(conn)
        for table in tables:
            if not export.exists(conn, table.relation):
                if table.optional:
                    continue
                raise SnapshotError(f"the warehouse has no {table.relation}")
            plan = export.plan(conn, table)
            expected = export.count(conn, table)

            def told(n: int, name: str = table.name) -> None:
                if progress:
                    progress(name, n)

            batches = export.batches(conn, plan, salt)
            written = export.write(build / table.folder, plan, batches, told)
            if progress:
                progress(table.name, written)
            rows[table.name] = expected
            partitioned[table.name] = table.day is not None
            if plan.left_out:
                left_out[table.name] = plan.left_out
            if plan.missing:
                missing[table.name] = plan.missing
    return rows, partitioned, left_out, missing
