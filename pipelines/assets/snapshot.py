"""The analyst snapshot: one unpartitioned asset that rebuilds the whole snapshot and swaps it
in (why whole: :mod:`pipelines.snapshots.build`), and a blocking check that the current
snapshot still holds what the warehouse held when it was taken."""

# No `from __future__ import annotations`: Dagster reads the context and resource
# annotations at definition time.

from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.resources import DataFolders, Warehouse
from pipelines.snapshots import build_snapshot, current, problems


@dg.asset(
    description="Parquet by trade date and a DuckDB database of views over it, for analysts "
    "(personal data left out); builds/<id>/ swapped in as snapshots/current.",
    kinds={"duckdb", "parquet"},
)
def analyst_snapshot(
    context: AssetExecutionContext, warehouse: Warehouse, folders: DataFolders
) -> dg.MaterializeResult[None]:
    def progress(table: str, rows: int) -> None:
        context.log.debug(f"{table}: {rows} rows")

    result = build_snapshot(warehouse.url, Path(folders.root), progress)
    return dg.MaterializeResult(
        metadata={
            "build": result.build,
            "database": dg.MetadataValue.path(str(result.database)),
            "current": dg.MetadataValue.path(str(result.current)),
            "rows": dg.MetadataValue.json(dict(result.rows)),
            "total_rows": sum(result.rows.values()),
            "left_out": dg.MetadataValue.json({t: list(c) for t, c in result.left_out.items()}),
            "missing": dg.MetadataValue.json({t: list(c) for t, c in result.missing.items()}),
            "removed_builds": dg.MetadataValue.json(list(result.removed)),
        }
    )


@dg.asset_check(
    asset=analyst_snapshot,
    blocking=True,
    description="Per table, the current snapshot's rows equal the warehouse's count taken in "
    "the export's transaction, and its views read only its own build's files.",
)
def snapshot_rows_match_warehouse(folders: DataFolders) -> dg.AssetCheckResult:
    build = current(folders.snapshots)
    found = ["no current snapshot"] if build is None else problems(build)
    return dg.AssetCheckResult(
        passed=not found,
        metadata={"build": str(build), "problems": dg.MetadataValue.json(found)},
    )
