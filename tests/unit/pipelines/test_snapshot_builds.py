"""Build folders: the swap, the retention rule and the salt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.snapshots.builds import (
    RETIRED_FOR,
    Manifest,
    current,
    finish,
    new_build,
    prune,
    salt,
    swap,
)

T0 = datetime(2026, 3, 9, 21, tzinfo=UTC)


def _finished(root: Path, at: datetime) -> Path:
    build = new_build(root, at)
    finish(build, Manifest(build.name, at, {"deals": 1}, {"deals": True}))
    return build


def test_swap_points_current_at_the_new_build_through_a_relative_link(tmp_path: Path) -> None:
    first, second = _finished(tmp_path, T0), _finished(tmp_path, T0 + timedelta(seconds=1))
    swap(tmp_path, first)
    swap(tmp_path, second)
    link = tmp_path / "current"
    assert link.is_symlink()
    assert str(link.readlink()) == f"builds/{second.name}"
    assert current(tmp_path) == second.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["builds", "current"]  # no temp link


def test_prune_keeps_the_last_two_and_a_recently_retired_one(tmp_path: Path) -> None:
    builds = [_finished(tmp_path, T0 + timedelta(minutes=10 * i)) for i in range(4)]
    swap(tmp_path, builds[-1])
    # builds[0] was retired when builds[1] was made, builds[1] when builds[2] was
    soon = T0 + timedelta(minutes=20) + RETIRED_FOR - timedelta(seconds=1)
    assert prune(tmp_path, T0 + timedelta(minutes=10) + RETIRED_FOR) == [builds[0].name]
    assert prune(tmp_path, soon) == []
    assert prune(tmp_path, soon + timedelta(seconds=2)) == [builds[1].name]
    assert [b.exists() for b in builds] == [False, False, True, True]


def test_prune_removes_unfinished_builds_but_never_the_current_one(tmp_path: Path) -> None:
    dead = new_build(tmp_path, T0)  # no manifest: a build that died
    live = _finished(tmp_path, T0 + timedelta(minutes=1))
    swap(tmp_path, live)
    assert prune(tmp_path, T0 + timedelta(days=30)) == [dead.name]
    assert live.exists()


def test_the_salt_is_made_once_and_kept(tmp_path: Path) -> None:
    first = salt(tmp_path)
    assert len(first) == 32
    assert salt(tmp_path) == first
    assert (tmp_path / ".email-salt").stat().st_mode & 0o077 == 0
