"""Loading sanctions and PEP lists into the warehouse, one version per file.

A version is the SHA-256 of its file (with its alt.csv's for OFAC): loading a file already
loaded changes nothing; a new file of a source becomes that source's current version, and
screening reads the current version of every source. Older versions stay, since past
screenings' matches point at their entries. A file is parsed whole before anything is
written, so a malformed one leaves no trace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from backoffice.aml.errors import AmlError
from backoffice.aml.lists import ListEntry, parse_eu, parse_ofac
from backoffice.audit import Actor, record

ListSource = Literal["ofac_sdn", "eu_consolidated", "pep"]
ListFormat = Literal["ofac", "eu"]
SOURCES: tuple[ListSource, ...] = ("ofac_sdn", "eu_consolidated", "pep")


@dataclass(frozen=True, slots=True)
class LoadResult:
    list_id: int
    source: ListSource
    entries: int
    already_loaded: bool


def load_list_file(
    conn: psycopg.Connection[Any],
    actor: Actor,
    path: Path,
    *,
    alt_path: Path | None = None,
    list_format: ListFormat = "ofac",
    source: ListSource | None = None,
) -> LoadResult:
    """Load one list file (OFAC's sdn.csv with its alt.csv, or the EU CSV) as its source's
    current version; a PEP list comes in either layout with ``source='pep'``."""
    source = source or ("ofac_sdn" if list_format == "ofac" else "eu_consolidated")
    if source not in SOURCES:
        raise AmlError("unknown_source", f"unknown list source {source!r}")
    if alt_path is not None and list_format != "ofac":
        raise AmlError("alt_without_ofac", "an alt file goes with the OFAC format only")
    data = path.read_bytes()
    alt = alt_path.read_bytes() if alt_path is not None else None
    sha256 = hashlib.sha256(data).hexdigest()
    alt_sha256 = hashlib.sha256(alt).hexdigest() if alt is not None else ""
    existing = conn.execute(
        "SELECT id, entries FROM sanctions_lists WHERE source = %s AND sha256 = %s"
        " AND alt_sha256 = %s",
        (source, sha256, alt_sha256),
    ).fetchone()
    if existing is not None:
        return LoadResult(existing[0], source, existing[1], already_loaded=True)
    if list_format == "ofac":
        entries = parse_ofac(
            data, alt, sdn_name=path.name, alt_name=alt_path.name if alt_path else "alt.csv"
        )
    else:
        entries = parse_eu(data, file_name=path.name)
    return store_list(conn, actor, source, entries, sha256, alt_sha256, path.name)


def store_list(
    conn: psycopg.Connection[Any],
    actor: Actor,
    source: ListSource,
    entries: list[ListEntry],
    sha256: str,
    alt_sha256: str,
    file_name: str,
) -> LoadResult:
    """Write a parsed list as a new version (nothing when that version is there already)."""
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO sanctions_lists (source, sha256, alt_sha256, file_name, entries)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (source, sha256, alt_sha256) DO NOTHING RETURNING id""",
            (source, sha256, alt_sha256, file_name, len(entries)),
        ).fetchone()
        if row is None:  # loaded meanwhile by someone else
            found = conn.execute(
                "SELECT id FROM sanctions_lists WHERE source = %s AND sha256 = %s"
                " AND alt_sha256 = %s",
                (source, sha256, alt_sha256),
            ).fetchone()
            assert found is not None
            return LoadResult(found[0], source, len(entries), already_loaded=True)
        list_id = int(row[0])
        with conn.cursor().copy(
            """COPY sanctions_entries (list_id, external_id, entry_type, primary_name,
                   alternative_names, birth_dates, countries, programs, remarks) FROM STDIN"""
        ) as copy:
            for e in entries:
                copy.write_row(
                    (
                        list_id,
                        e.external_id,
                        e.entry_type,
                        e.primary_name,
                        Jsonb([{"type": a.type, "name": a.name} for a in e.alternative_names]),
                        e.birth_dates,
                        e.countries,
                        e.programs,
                        e.remarks,
                    )
                )
        record(
            conn,
            actor,
            "aml.list_loaded",
            "sanctions_list",
            list_id,
            None,
            {
                "source": source,
                "sha256": sha256,
                "alt_sha256": alt_sha256,
                "file_name": file_name,
                "entries": len(entries),
            },
        )
    return LoadResult(list_id, source, len(entries), already_loaded=False)


def current_list_ids(conn: psycopg.Connection[Any]) -> list[int]:
    """The current version of every source loaded (the latest file loaded of each)."""
    return [
        r[0]
        for r in conn.execute(
            """SELECT DISTINCT ON (source) id FROM sanctions_lists
               ORDER BY source, loaded_at DESC, id DESC"""
        )
    ]
