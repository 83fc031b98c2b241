"""What must hold after a day's export, before anything downstream takes the files: every
reportable event is on record exactly once with the content we would report now, and every
file validates and is on disk as written."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from pipelines.partitions import TradingDay
from pipelines.regulatory.exports import DERIVE
from pipelines.regulatory.records import CORRECTION, Regime


def event_problems(conn: psycopg.Connection[Any], regime: Regime, day: TradingDay) -> list[str]:
    """Events derived but not on record (or on record with other content), on record twice,
    or on record without being derivable from the day's rows."""
    derived = {event.key: event.content_hash for event in DERIVE[regime](conn, day)}
    rows = conn.execute(
        """SELECT event_key, action, content_hash FROM regulatory_events
           WHERE regime = %s AND trade_date = %s ORDER BY id""",
        (regime, day.trade_date),
    ).fetchall()
    latest = {key: digest for key, _, digest in rows}
    originals = Counter(key for key, action, _ in rows if action != CORRECTION)
    problems = [f"{key} was never reported" for key in derived if key not in latest]
    problems += [
        f"{key} is on record with other content than it has now"
        for key, digest in derived.items()
        if key in latest and latest[key] != digest
    ]
    problems += [f"{key} is on record {n} times" for key, n in originals.items() if n > 1]
    problems += [
        f"{key} is on record but not an event of the day" for key in latest if key not in derived
    ]
    return problems


def file_problems(
    conn: psycopg.Connection[Any], root: Path, regime: Regime, day: TradingDay
) -> list[str]:
    """Files of the day that failed validation, are missing, or differ from their checksum."""
    rows = conn.execute(
        """SELECT path, sha256, valid, validation FROM regulatory_files
           WHERE regime = %s AND trade_date = %s ORDER BY id""",
        (regime, day.trade_date),
    ).fetchall()
    problems: list[str] = []
    for path, digest, valid, validation in rows:
        if not valid:
            problems.append(f"{path} does not validate: {validation}")
        file = root / path
        if not file.is_file():
            problems.append(f"{path} is missing")
        elif hashlib.sha256(file.read_bytes()).hexdigest() != digest:
            problems.append(f"{path} differs from its recorded SHA-256")
    return problems
