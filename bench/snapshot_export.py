"""Rows/s of the analyst snapshot's export of ``deals``, against a raw binary COPY out of the
same table.

Run: uv run python bench/snapshot_export.py [--deals 2000000] [--runs 5]

Starts an embedded PostgreSQL (as the tests do), migrates and seeds a fresh database,
generates the deals server-side (spread over some fifty trading days), and per run measures:

* baseline: ``COPY deals TO STDOUT (FORMAT BINARY)`` read through psycopg into /dev/null —
  the server's share and the wire alone, nothing decoded;
* binary: one table through binary COPY of the kept columns, rows decoded by psycopg
  (``set_types`` + ``read_row``) into Arrow record batches, trade dates computed, Parquet
  written into day folders;
* csv: the same through CSV COPY parsed by Arrow's CSV reader (the route the snapshot takes);
* build: ``build_snapshot`` with the deals table only — the export plus the warehouse's count
  in the same transaction, the DuckDB views, the count check of the files and the swap.

Prints medians over the runs, and the ratios to the baseline: of the medians, and the median
of each run's ratio (steadier on a machine shared with other work).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa

from bench.warehouse_server import seeded_warehouse
from pipelines.snapshots import build_snapshot
from pipelines.snapshots import export as snapshot_export
from pipelines.snapshots.policy import TABLES
from warehouse.db import connect

DEALS = next(t for t in TABLES if t.name == "deals")
VARIANTS = ("baseline", "binary", "csv", "build")
Route = Callable[[psycopg.Connection[Any], snapshot_export.Plan, bytes], Iterator[pa.RecordBatch]]


def generate(url: str, count: int) -> None:
    """``count`` deals on ten accounts and the seeded instruments, one every 3 seconds."""
    with connect(url) as conn:
        group_id, kind, currency = conn.execute(
            "SELECT id, account_kind, deposit_currency FROM account_groups "
            "WHERE code = 'professional-netting'"
        ).fetchone() or (None, None, None)
        client = conn.execute(
            """INSERT INTO clients (brand_id, email, first_name, last_name, country)
               SELECT id, 'bench@example.test', 'Bench', 'Client', 'CZ' FROM brands
               WHERE code = 'demo' RETURNING id"""
        ).fetchone()
        assert client is not None
        assert group_id is not None
        for login in range(900_001, 900_011):
            conn.execute(
                """INSERT INTO trading_accounts (login, client_id, account_group_id, kind,
                                                 currency) VALUES (%s, %s, %s, %s, %s)""",
                (login, client[0], group_id, kind, currency),
            )
        conn.execute(
            """INSERT INTO deals (executed_at, trading_account_id, instrument_id, side, entry,
                                  volume, price, profit, commission, swap, routed)
               SELECT timestamptz '2026-01-05 00:00+00' + g * interval '3 seconds',
                      a.ids[1 + g %% 10], i.ids[1 + g %% cardinality(i.ids)],
                      CASE WHEN g %% 2 = 0 THEN 'BUY' ELSE 'SELL' END,
                      CASE WHEN g %% 2 = 0 THEN 'IN' ELSE 'OUT' END,
                      0.01 * (1 + g %% 100), 1.05 + (g %% 1000) * 0.0001,
                      ((g %% 2001) - 1000) * 0.01, -0.35, (g %% 7) * -0.01, 'B'
               FROM generate_series(1, %s) g,
                    (SELECT array_agg(id) ids FROM trading_accounts) a,
                    (SELECT array_agg(id) ids FROM instruments) i""",
            (count,),
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE deals")


def baseline(url: str) -> int:
    with connect(url) as conn, conn.cursor() as cursor, open("/dev/null", "wb") as sink:
        with cursor.copy("COPY deals TO STDOUT (FORMAT BINARY)") as copy:
            for block in copy:
                sink.write(block)
        return cursor.rowcount


def export(url: str, folder: Path, route: Route) -> int:
    with connect(url) as conn:
        snapshot_export.session(conn)
        plan = snapshot_export.plan(conn, DEALS)
        return snapshot_export.write(folder / "deals", plan, route(conn, plan, b"bench-salt"))


def build(url: str, folder: Path) -> int:
    return build_snapshot(url, folder, tables=(DEALS,)).rows["deals"]


def timed(work: Callable[[], int], expected: int) -> float:
    started = time.perf_counter()
    rows = work()
    elapsed = time.perf_counter() - started
    assert rows == expected, (rows, expected)
    return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    binary, csv = snapshot_export.batches_binary, snapshot_export.batches
    with (
        seeded_warehouse() as url,
        tempfile.TemporaryDirectory(prefix="bench-snapshot-") as scratch,
    ):
        started = time.perf_counter()
        generate(url, args.deals)
        print(f"generated {args.deals:,} deals in {time.perf_counter() - started:.1f} s")
        figures: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for run in range(args.runs):
            folder = Path(scratch) / str(run)
            figures["baseline"].append(timed(partial(baseline, url), args.deals))
            for name, route in (("binary", binary), ("csv", csv)):
                work = partial(export, url, folder / name, route)
                figures[name].append(timed(work, args.deals))
            figures["build"].append(timed(partial(build, url, folder / "build"), args.deals))
            shutil.rmtree(folder)
            print(
                f"run {run + 1}: "
                + ", ".join(f"{v} {figures[v][-1]:,.0f} rows/s" for v in VARIANTS),
                flush=True,
            )
        base = statistics.median(figures["baseline"])
        print(f"\nmedians over {args.runs} runs of {args.deals:,} deals:")
        for variant in VARIANTS:
            median = statistics.median(figures[variant])
            per_run = statistics.median(
                f / b for f, b in zip(figures[variant], figures["baseline"], strict=True)
            )
            print(
                f"  {variant:<9} {median:>12,.0f} rows/s   {median / base:6.3f} of baseline "
                f"(median of per-run ratios {per_run:.3f})"
            )


if __name__ == "__main__":
    main()
