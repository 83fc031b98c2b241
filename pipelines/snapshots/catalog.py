"""The DuckDB side of a build: views over its Parquet folders, and the checks that the build
holds what the warehouse held.

The database has views only (no copy of the data); each names its files by the build's
absolute path, resolved, so a reader that opened ``current`` stays on the build it opened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import duckdb

from pipelines.snapshots.builds import DATABASE, Manifest
from pipelines.snapshots.export import PART

_FILES = re.compile(r"read_parquet\('([^']*)'")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _view_name(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split("."))


def create_views(build: Path, partitioned: Mapping[str, bool]) -> Path:
    """Write ``analytics.duckdb`` with one view per table; its path."""
    root = build.resolve()
    database = root / DATABASE
    with duckdb.connect(str(database)) as db:
        for schema in sorted({t.split(".")[0] for t in partitioned if "." in t}):
            db.execute(f'CREATE SCHEMA "{schema}"')
        for table, by_day in partitioned.items():
            folder = root.joinpath(*table.split("."))
            hive = by_day and any(p.is_dir() for p in folder.iterdir())
            if hive:
                files = _quote(str(folder / "*" / "*.parquet"))
                source = (
                    f"read_parquet({files}, hive_partitioning = true, "
                    f"hive_types = {{'{PART}': DATE}})"
                )
            else:
                source = f"read_parquet({_quote(str(folder / '*.parquet'))})"
            db.execute(f"CREATE VIEW {_view_name(table)} AS SELECT * FROM {source}")
        db.execute("CHECKPOINT")
    return database


def referenced_files(database: Path) -> list[str]:
    """Every file pattern the database's views read."""
    with duckdb.connect(str(database), read_only=True) as db:
        rows = db.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
    return [path for (text,) in rows for path in _FILES.findall(text)]


def problems(build: Path) -> list[str]:
    """What is wrong with a build: views reading outside it, or row counts that differ from
    the warehouse's (a Parquet file lost, truncated or unreadable)."""
    root = build.resolve()
    try:
        manifest = Manifest.read(root)
    except (OSError, ValueError, KeyError) as error:
        return [f"no readable manifest in {root}: {error}"]
    database = root / DATABASE
    found = [
        f"a view reads outside its build: {path}"
        for path in referenced_files(database)
        if not Path(path).is_relative_to(root)
    ]
    with duckdb.connect(str(database), read_only=True) as db:
        for table, expected in manifest.rows.items():
            try:
                row = db.execute(f"SELECT count(*) FROM {_view_name(table)}").fetchone()
            except duckdb.Error as error:
                found.append(f"{table}: unreadable: {error}")
                continue
            counted = int(row[0]) if row else 0
            if counted != expected:
                found.append(
                    f"{table}: {counted} rows in the snapshot, {expected} in the warehouse"
                )
    return found
