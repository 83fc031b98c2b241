"""The analyst snapshot: the warehouse as day-partitioned Parquet with DuckDB views over it,
personal data left behind, swapped in whole (see :mod:`pipelines.snapshots.builds`)."""

from pipelines.snapshots.build import SnapshotError, SnapshotResult, build_snapshot
from pipelines.snapshots.builds import current
from pipelines.snapshots.catalog import problems

__all__ = ["SnapshotError", "SnapshotResult", "build_snapshot", "current", "problems"]
