"""Screening clients against the current sanctions and PEP lists.

:func:`screen_client` screens one client now (at registration, after a change of name or
birth date, on demand) and stores the screening with its matches; a sanctions hit suspends
the client and opens a case, a possible match or a PEP match opens a case for review. The
worker's job (:func:`screen_due`) catches every client whose latest screening no longer
stands — never screened, name, birth date or countries changed since, or a list version
loaded after it — so a client created or edited by any path is screened without that code
calling this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from backoffice.aml.cases import CaseKind, open_screening_case
from backoffice.aml.errors import AmlError
from backoffice.aml.matching import DEFAULT, Listed, Match, ScreeningIndex, Subject, Thresholds
from backoffice.aml.sanctions import current_list_ids
from backoffice.audit import Actor, record
from backoffice.worker import JobContext

Reason = Literal["registration", "profile_change", "list_load", "scheduled", "manual"]
REASONS: tuple[Reason, ...] = ("registration", "profile_change", "list_load", "scheduled", "manual")
Outcome = Literal["clear", "possible_match", "hit"]
BATCH = 500  # clients per round of the job: a list load re-screens everyone over some rounds
_SYSTEM = Actor.system("aml.screening")


@dataclass(frozen=True, slots=True)
class StoredMatch:
    id: int
    entry_id: int
    source: str
    external_id: str
    match: Match
    case_id: int | None  # None: the entry was cased for this client before


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    screening_id: int
    client_id: int
    outcome: Outcome
    matches: list[StoredMatch]
    blocked: bool


_cache: tuple[tuple[int, ...], ScreeningIndex] | None = None


def current_index(conn: psycopg.Connection[Any]) -> tuple[list[int], ScreeningIndex]:
    """The index of the current list versions (kept between calls: a version never changes)."""
    global _cache
    list_ids = sorted(current_list_ids(conn))
    if _cache is None or _cache[0] != tuple(list_ids):
        rows = conn.execute(
            """SELECT id, primary_name, alternative_names, birth_dates, countries
               FROM sanctions_entries WHERE list_id = ANY(%s) AND entry_type = 'individual'""",
            (list_ids,),
        )
        index = ScreeningIndex(
            Listed(i, (name, *(a["name"] for a in alts)), tuple(dobs), frozenset(countries))
            for i, name, alts, dobs, countries in rows
        )
        _cache = (tuple(list_ids), index)
    return list_ids, _cache[1]


def screen_client(
    conn: psycopg.Connection[Any],
    client_id: int,
    reason: Reason,
    *,
    thresholds: Thresholds = DEFAULT,
) -> ScreeningResult:
    """Screen one client against every current list and act on what it finds."""
    if reason not in REASONS:
        raise AmlError("unknown_reason", f"unknown screening reason {reason!r}")
    row = conn.execute(
        """SELECT first_name || ' ' || last_name, birth_date,
                  array_remove(ARRAY[country, nationality], NULL)
           FROM clients WHERE id = %s FOR UPDATE""",
        (client_id,),
    ).fetchone()
    if row is None:
        raise AmlError("client_not_found", f"no client {client_id}")
    full_name: str = row[0]
    birth_date: date | None = row[1]
    countries: list[str] = row[2]
    list_ids, index = current_index(conn)
    found = index.screen(Subject(full_name, birth_date, frozenset(countries)), thresholds)
    outcome: Outcome = (
        "hit" if any(m.strength == "hit" for m in found) else "possible_match" if found else "clear"
    )
    screening = conn.execute(
        """INSERT INTO aml_screenings (client_id, reason, full_name, birth_date, countries,
                                       list_ids, outcome)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (client_id, reason, full_name, birth_date, countries, list_ids, outcome),
    ).fetchone()
    assert screening is not None
    screening_id = int(screening[0])
    stored = [_store_match(conn, client_id, screening_id, m) for m in found]
    if found:
        record(
            conn,
            _SYSTEM,
            "aml.screened",
            "client",
            client_id,
            None,
            {
                "screening_id": screening_id,
                "reason": reason,
                "outcome": outcome,
                "matches": [
                    {
                        "entry_id": s.entry_id,
                        "source": s.source,
                        "score": s.match.score,
                        "strength": s.match.strength,
                    }
                    for s in stored
                ],
            },
        )
    status = conn.execute("SELECT status FROM clients WHERE id = %s", (client_id,)).fetchone()
    blocked = (
        status is not None
        and status[0] == "suspended"
        and any(s.match.strength == "hit" and s.source != "pep" for s in stored)
    )
    return ScreeningResult(screening_id, client_id, outcome, stored, blocked)


def _store_match(
    conn: psycopg.Connection[Any], client_id: int, screening_id: int, m: Match
) -> StoredMatch:
    entry = conn.execute(
        """SELECT l.source, e.external_id FROM sanctions_entries e
           JOIN sanctions_lists l ON l.id = e.list_id WHERE e.id = %s""",
        (m.key,),
    ).fetchone()
    assert entry is not None
    source, external_id = str(entry[0]), str(entry[1])
    row = conn.execute(
        """INSERT INTO aml_screening_matches (screening_id, entry_id, matched_name, name_score,
                                              score, strength, factors)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            screening_id,
            m.key,
            m.matched_name,
            m.name_score,
            m.score,
            m.strength,
            Jsonb({"birth_date": m.birth_date, "country": m.country}),
        ),
    ).fetchone()
    assert row is not None
    match_id = int(row[0])
    kind: CaseKind = "pep" if source == "pep" else "sanctions_hit"
    block = kind == "sanctions_hit" and m.strength == "hit"
    key = f"{source}:{external_id}"
    case_id = open_screening_case(conn, client_id, match_id, kind, key, block=block)
    return StoredMatch(match_id, m.key, source, external_id, m, case_id)


_DUE = """
WITH latest AS (
    SELECT DISTINCT ON (client_id) client_id, full_name, birth_date, countries, list_ids
    FROM aml_screenings ORDER BY client_id, screened_at DESC, id DESC
)
SELECT c.id,
       CASE WHEN l.client_id IS NULL THEN 'registration'
            WHEN l.full_name <> c.first_name || ' ' || c.last_name
                 OR l.birth_date IS DISTINCT FROM c.birth_date
                 OR l.countries <> array_remove(ARRAY[c.country, c.nationality], NULL)
            THEN 'profile_change'
            ELSE 'list_load' END
FROM clients c LEFT JOIN latest l ON l.client_id = c.id
WHERE c.status <> 'closed'
  AND (l.client_id IS NULL
       OR l.full_name <> c.first_name || ' ' || c.last_name
       OR l.birth_date IS DISTINCT FROM c.birth_date
       OR l.countries <> array_remove(ARRAY[c.country, c.nationality], NULL)
       OR NOT l.list_ids @> %(lists)s::bigint[])
ORDER BY c.id
LIMIT %(limit)s
"""


def screen_due(conn: psycopg.Connection[Any], limit: int = BATCH) -> int:
    """Screen up to ``limit`` clients whose latest screening no longer stands; how many."""
    due = conn.execute(_DUE, {"lists": current_list_ids(conn), "limit": limit}).fetchall()
    for client_id, reason in due:
        screen_client(conn, client_id, reason)
    return len(due)


def screening_job(ctx: JobContext) -> int:
    """The worker's round: one batch of due clients in one transaction."""
    with ctx.connection() as conn:
        return screen_due(conn)
