"""What a regulatory file carries and what has been reported already.

An event is one thing that happened, once (a trade opened, modified, terminated, valued; a
transaction executed), keyed so a re-run derives the same key; its content hash covers the
fields reported. ``regulatory_events`` remembers every key and hash that went out: a key seen
with the same hash is not reported again, a key seen with another hash goes out as a
correction (its latest hash is what the regulator holds).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import psycopg

Regime = Literal["emir", "mifir"]
CORRECTION = "CORR"


def is_isin(code: str) -> bool:
    return re.fullmatch(r"[A-Z]{2}[A-Z0-9]{9}[0-9]", code) is not None


@dataclass(frozen=True, slots=True)
class Brand:
    id: int
    code: str
    lei: str


@dataclass(frozen=True, slots=True)
class Event:
    key: str  # e.g. 'NEWT:<uti>', 'VALU:<uti>:<trade date>'
    identifier: str  # the UTI (EMIR) or the transaction reference number (MiFIR)
    action: str  # what it is when first reported: NEWT, MODI, TERM, VALU
    brand: Brand
    fields: Mapping[str, str]  # as reported, in the file's order; '' when not applicable

    @property
    def content_hash(self) -> str:
        body = json.dumps(list(self.fields.items()), separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event as this file reports it: its own action, or a correction of what went out."""

    event: Event
    action: str

    @property
    def is_correction(self) -> bool:
        return self.action == CORRECTION


def pending(
    conn: psycopg.Connection[Any], regime: Regime, events: Sequence[Event]
) -> list[Outgoing]:
    """The events not yet reported with this content, in the order given."""
    latest = latest_hashes(conn, regime, [e.key for e in events])
    out: list[Outgoing] = []
    for event in events:
        reported = latest.get(event.key)
        if reported is None:
            out.append(Outgoing(event, event.action))
        elif reported != event.content_hash:
            out.append(Outgoing(event, CORRECTION))
    return out


def latest_hashes(
    conn: psycopg.Connection[Any], regime: Regime, keys: Iterable[str]
) -> dict[str, str]:
    """Each key's content hash as last reported."""
    rows = conn.execute(
        """SELECT DISTINCT ON (event_key) event_key, content_hash FROM regulatory_events
           WHERE regime = %s AND event_key = ANY(%s) ORDER BY event_key, id DESC""",
        (regime, list(keys)),
    ).fetchall()
    return {key: digest for key, digest in rows}


def lock_brand_day(conn: psycopg.Connection[Any], regime: Regime, brand: Brand, day: date) -> None:
    """Serialises exports of one brand's day so two runs cannot both take a sequence."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"regulatory:{regime}:{brand.id}:{day}",)
    )


def next_sequence(conn: psycopg.Connection[Any], regime: Regime, brand: Brand, day: date) -> int:
    row = conn.execute(
        """SELECT coalesce(max(sequence), 0) + 1 FROM regulatory_files
           WHERE regime = %s AND brand_id = %s AND trade_date = %s""",
        (regime, brand.id, day),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True, slots=True)
class FileRow:
    format: str  # xml or csv
    path: str  # relative to the data folders' root
    sha256: str
    records: int
    valid: bool
    validation: str


def record(
    conn: psycopg.Connection[Any],
    regime: Regime,
    brand: Brand,
    day: date,
    sequence: int,
    files: Sequence[FileRow],
    outgoing: Sequence[Outgoing],
) -> None:
    """The files and the events they carried; events point at the first (primary) file."""
    file_ids = [
        int(
            _one(
                conn,
                """INSERT INTO regulatory_files (regime, brand_id, trade_date, sequence, format,
                       path, sha256, records, valid, validation)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (
                    regime,
                    brand.id,
                    day,
                    sequence,
                    f.format,
                    f.path,
                    f.sha256,
                    f.records,
                    f.valid,
                    f.validation,
                ),
            )
        )
        for f in files
    ]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO regulatory_events (regime, event_key, identifier, action, trade_date,
                   content_hash, file_id)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            [
                (
                    regime,
                    o.event.key,
                    o.event.identifier,
                    o.action,
                    day,
                    o.event.content_hash,
                    file_ids[0],
                )
                for o in outgoing
            ],
        )


def _one(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]
