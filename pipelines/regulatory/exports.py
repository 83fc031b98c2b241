"""One trading day's export for a regime: derive the day's events, keep those not reported
yet (or reported with other content), and write them as the next file set of each brand's
day, each file with its SHA-256 and its validation result, recorded with its events.

A re-run with nothing new writes nothing; files already written are never touched again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

from pipelines.partitions import TradingDay
from pipelines.regulatory import emir, emir_files, mifir, tabular
from pipelines.regulatory.records import (
    Brand,
    Event,
    FileRow,
    Outgoing,
    Regime,
    lock_brand_day,
    next_sequence,
    pending,
    record,
)


@dataclass(frozen=True, slots=True)
class Rendered:
    format: str  # xml or csv
    content: bytes
    records: int
    problems: list[str]  # the validation's findings; empty: valid


@dataclass(frozen=True, slots=True)
class Export:
    """What a run wrote: new files (absolute paths), the events in them, whether all validate."""

    regime: Regime
    trade_date: date
    files: list[Path]
    events: int
    valid: bool


def _emir(outgoing: Sequence[Outgoing], at: datetime) -> list[Rendered]:
    xml = emir_files.xml(outgoing, at)
    csv = emir_files.csv(outgoing, at)
    return [
        Rendered("xml", xml, len(outgoing), emir_files.validate_xml(xml)),
        Rendered("csv", csv, len(outgoing), tabular.validate(emir_files.CSV, csv)),
    ]


def _mifir(outgoing: Sequence[Outgoing], at: datetime) -> list[Rendered]:
    lines = mifir.rows(outgoing)
    csv = tabular.write(mifir.CSV, lines)
    return [Rendered("csv", csv, len(lines), mifir.validate(csv))]


DERIVE: dict[Regime, Callable[[psycopg.Connection[Any], TradingDay], list[Event]]] = {
    "emir": emir.derive,
    "mifir": mifir.derive,
}
_RENDER: dict[Regime, Callable[[Sequence[Outgoing], datetime], list[Rendered]]] = {
    "emir": _emir,
    "mifir": _mifir,
}


def export(conn: psycopg.Connection[Any], root: Path, regime: Regime, day: TradingDay) -> Export:
    """Export the day under ``root/exports/<regime>/<trade date>/`` (in the caller's
    transaction: the records commit with it)."""
    by_brand: dict[Brand, list[Event]] = {}
    for event in DERIVE[regime](conn, day):
        by_brand.setdefault(event.brand, []).append(event)
    written: list[Path] = []
    events = 0
    valid = True
    for brand, brand_events in by_brand.items():
        lock_brand_day(conn, regime, brand, day.trade_date)
        outgoing = pending(conn, regime, brand_events)
        if not outgoing:
            continue
        sequence = next_sequence(conn, regime, brand, day.trade_date)
        rows = [
            _write(root, regime, brand, day.trade_date, sequence, rendered)
            for rendered in _RENDER[regime](outgoing, datetime.now(UTC))
        ]
        record(conn, regime, brand, day.trade_date, sequence, rows, outgoing)
        written += [root / row.path for row in rows]
        events += len(outgoing)
        valid = valid and all(row.valid for row in rows)
    return Export(regime, day.trade_date, written, events, valid)


def file_name(brand: Brand, regime: Regime, trade_date: date, sequence: int, fmt: str) -> str:
    return f"{brand.code}-{regime}-{trade_date.isoformat()}-{sequence:03d}.{fmt}"


def _write(
    root: Path, regime: Regime, brand: Brand, trade_date: date, sequence: int, r: Rendered
) -> FileRow:
    """The file, its checksum and its validation result side by side; written to a temporary
    name first so a crash never leaves half a file under the real one."""
    folder = root / "exports" / regime / trade_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name(brand, regime, trade_date, sequence, r.format)
    digest = hashlib.sha256(r.content).hexdigest()
    validation = "\n".join(r.problems) if r.problems else "valid"
    for target, content in (
        (folder / name, r.content),
        (folder / f"{name}.sha256", f"{digest}  {name}\n".encode()),
        (folder / f"{name}.validation.txt", f"{validation}\n".encode()),
    ):
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(content)
        os.replace(partial, target)
    path = (folder / name).relative_to(root)
    return FileRow(r.format, str(path), digest, r.records, not r.problems, validation)
