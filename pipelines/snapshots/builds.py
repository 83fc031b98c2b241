"""Snapshot builds on disk, and the one atomic step that makes a build the current one.

Layout under the snapshots folder::

    builds/<id>/            one complete snapshot: Parquet folders, analytics.duckdb,
                            manifest.json (written last: a build without it is unfinished)
    current -> builds/<id>  a relative symlink, replaced atomically (os.replace of a new one)
    .build.lock             held while a build runs, so two builds never interleave
    .email-salt             the secret salt of the e-mail hashes; never inside a build

A reader opens ``current/analytics.duckdb``; the path resolves once, at open, and the views
in that database name their own build's files by absolute path, so a reader keeps reading
the build it opened while newer ones are swapped in.

Retention: the newest ``KEEP`` finished builds stay (the current one and its predecessor);
an older one is deleted only once it has been out of service for ``RETIRED_FOR`` (its
successor went current that long ago), so even back-to-back rebuilds leave a reader an hour
to finish. Readers are expected to hold a connection for a session, not for days: a reader
that must keep a build longer copies it (a build folder is self-contained apart from the
absolute paths in its views).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BUILDS = "builds"
CURRENT = "current"
DATABASE = "analytics.duckdb"
MANIFEST = "manifest.json"
KEEP = 2
RETIRED_FOR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Manifest:
    build: str
    built_at: datetime
    rows: dict[str, int]  # per table, as the warehouse counted them in the export's transaction
    partitioned: dict[str, bool]

    def to_json(self) -> str:
        return json.dumps(
            {
                "build": self.build,
                "built_at": self.built_at.isoformat(),
                "rows": self.rows,
                "partitioned": self.partitioned,
            },
            indent=2,
        )

    @classmethod
    def read(cls, build: Path) -> Manifest:
        data: dict[str, Any] = json.loads((build / MANIFEST).read_text())
        return cls(
            data["build"],
            datetime.fromisoformat(data["built_at"]),
            data["rows"],
            data["partitioned"],
        )


def new_build(root: Path, now: datetime) -> Path:
    """A fresh, empty build folder, named so that names sort by time."""
    name = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = root / BUILDS / name
    path.mkdir(parents=True)
    return path


def finish(build: Path, manifest: Manifest) -> None:
    """Mark the build complete: the manifest is written whole, then renamed into place."""
    staging = build / f".{MANIFEST}.tmp"
    staging.write_text(manifest.to_json())
    os.replace(staging, build / MANIFEST)


def swap(root: Path, build: Path) -> None:
    """Point ``current`` at the build in one rename: a reader sees the old or the new."""
    link = root / f".{CURRENT}.{build.name}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(Path(BUILDS) / build.name)
    os.replace(link, root / CURRENT)


def current(root: Path) -> Path | None:
    """The current build's folder (resolved), if there is one."""
    link = root / CURRENT
    return link.resolve() if link.is_symlink() else None


def prune(root: Path, now: datetime) -> list[str]:
    """Delete what no reader can be on (see the module's retention rule); the names removed."""
    live = current(root)
    builds = sorted(p for p in (root / BUILDS).iterdir() if p.is_dir())
    finished = [b for b in builds if (b / MANIFEST).exists()]
    removed = []
    for build in builds:
        if build == live or build in finished[-KEEP:]:
            continue
        if build in finished:
            later = finished[finished.index(build) + 1]
            if now - Manifest.read(later).built_at < RETIRED_FOR:
                continue
        # unfinished: the remains of a build that died (builds run one at a time, under the lock)
        shutil.rmtree(build)
        removed.append(build.name)
    return removed


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Held for the whole build: a second build waits rather than interleaving."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".build.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def salt(root: Path) -> bytes:
    """The snapshots' salt, made once: the same e-mail hashes alike across builds."""
    path = root / ".email-salt"
    if not path.exists():
        staging = root / f".email-salt.{os.getpid()}.tmp"
        staging.write_bytes(secrets.token_bytes(32))
        staging.chmod(0o600)
        os.replace(staging, path)
    return path.read_bytes()
