"""Report files: CSV written beside a checksum, replaced atomically (a reader never sees half
a file), one folder per report and day under the exports folder."""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Write rows to ``path`` (through a temporary file) and ``path.sha256``; the checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(partial, path)
    checksum = sha256_of(path)
    path.with_name(path.name + ".sha256").write_text(f"{checksum}  {path.name}\n")
    return checksum


def export_table(
    conn: psycopg.Connection[Any],
    path: Path,
    table: str,
    columns: Sequence[tuple[str, str]],
    where: str,
    params: dict[str, Any],
    order: str = "login",
) -> int:
    """Rows of a reports table as CSV with MT5's headings; the number of rows."""
    query = sql.SQL("SELECT {cols} FROM {table} WHERE {where} ORDER BY {order}").format(
        cols=sql.SQL(", ").join(sql.SQL(expr) for _, expr in columns),
        table=sql.SQL(table),
        where=sql.SQL(where),
        order=sql.SQL(order),
    )
    rows = conn.execute(query, params).fetchall()
    write_csv(path, [heading for heading, _ in columns], rows)
    return len(rows)
