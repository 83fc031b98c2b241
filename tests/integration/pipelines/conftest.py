"""Fixtures for the pipeline tests: a seeded warehouse, a data folder, the resources the
composition root would give, and a helper that materializes assets with their checks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from pipelines.resources import DataFolders, Warehouse


@pytest.fixture
def conn(seeded_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection for seeding (autocommit: each row is there for the pipeline at once)."""
    with psycopg.connect(seeded_db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def resources(seeded_db_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "warehouse": Warehouse(url=seeded_db_url),
        "folders": DataFolders(root=str(tmp_path / "data")),
    }


class Runner:
    def __init__(self, resources: dict[str, Any]) -> None:
        self.resources = resources

    def __call__(
        self, selection: Sequence[Any], partition_key: str | None = None, *, ok: bool = True
    ) -> dg.ExecuteInProcessResult:
        result = dg.materialize(
            list(selection),
            partition_key=partition_key,
            resources=self.resources,
            raise_on_error=False,
        )
        if ok:
            assert result.success, [
                e.event_specific_data for e in result.all_events if e.is_failure
            ]
        return result


@pytest.fixture
def run(resources: dict[str, Any]) -> Runner:
    """``run([asset, check, ...], key)`` materializes and, unless ``ok=False``, insists it
    succeeded."""
    return Runner(resources)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """Each check's name and whether it passed."""
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
