"""Retention: each kind of record is kept a number of years (per brand and client country,
``retention_periods``) after the relationship ends, then purged — only what has expired, each
removed row listed in ``retention_purges`` and summed up in an audit record per client.

The relationship ends when the client is closed: its last activity (the client row's last
change, its accounts, payments, timeline) starts the clock. Active and suspended clients'
records are never purged, nor is a kind with no period for the client's brand and country.

Not purged, by design (``KEPT``): the audit log is one hash chain across every client, so
deleting one client's records would break verification of everyone's after them, and its
rows are immutable by trigger; transactions (ledger entries, deals) are immutable double
entry whose balances are derived from them. Their periods are kept as data for the archive
step that moves whole expired chain segments and closed ledgers out of the warehouse.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice.audit.trail import Actor, record
from backoffice.worker import Job, JobContext

ANY_COUNTRY = "*"
ACTOR = Actor.system("retention")

KEPT = {
    "audit": "the audit log is one hash chain with immutable rows; never purged row by row",
    "transactions": "ledger entries and deals are immutable double entry; archived, not purged",
}


@dataclass(frozen=True, slots=True)
class Purgeable:
    """A kind of record a purge removes: ``select`` gives (id, detail jsonb) of one client's
    rows (``%(c)s``), ``delete`` removes the ids ``%(ids)s`` of that client."""

    kind: str
    entity_type: str
    select: str
    delete: str


PURGEABLE = (
    Purgeable(
        "kyc_documents",
        "kyc_document",
        """SELECT d.id, jsonb_build_object('storage_ref', d.storage_ref, 'kind', d.kind,
                  'sha256', encode(d.sha256, 'hex'))
           FROM kyc_documents d JOIN kyc_applications k ON k.id = d.application_id
           WHERE k.client_id = %(c)s ORDER BY d.id""",
        """DELETE FROM kyc_documents d USING kyc_applications k
           WHERE k.id = d.application_id AND k.client_id = %(c)s AND d.id = ANY(%(ids)s)""",
    ),
    Purgeable(
        "communications",
        "crm_event",
        """SELECT id, jsonb_build_object('channel', channel, 'event_type', event_type,
                  'occurred_at', occurred_at)
           FROM crm_events WHERE client_id = %(c)s
             AND channel IN ('email', 'sms', 'phone', 'note') ORDER BY id""",
        "DELETE FROM crm_events WHERE client_id = %(c)s AND id = ANY(%(ids)s)",
    ),
)


def retained_until(ended_at: datetime, years: int) -> datetime:
    """The end of the retention period (29 February runs to 1 March: never a day short)."""
    try:
        return ended_at.replace(year=ended_at.year + years)
    except ValueError:
        return ended_at.replace(year=ended_at.year + years, month=3, day=1)


def period_years(periods: Mapping[tuple[str, str], int], country: str, kind: str) -> int | None:
    """The years for a client of ``country`` (its own row, else the brand's '*'); None: keep."""
    return periods.get((country, kind), periods.get((ANY_COUNTRY, kind)))


@dataclass(frozen=True, slots=True)
class PurgedRecord:
    kind: str
    client_id: int
    entity_type: str
    entity_id: str
    relationship_ended_at: datetime
    retained_until: datetime


@dataclass
class PurgeReport:
    run_id: uuid.UUID
    dry_run: bool
    removed: list[PurgedRecord] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=lambda: dict(KEPT))

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in self.removed:
            totals[item.kind] = totals.get(item.kind, 0) + 1
        return totals


def purge(
    conn: psycopg.Connection[Any], now: datetime | None = None, dry_run: bool = False
) -> PurgeReport:
    """Remove every expired purgeable record (in the caller's transaction); with ``dry_run``
    list what would go and change nothing."""
    now = now or datetime.now(UTC)
    report = PurgeReport(uuid.uuid4(), dry_run)
    periods = _periods(conn)
    for client_id, brand_id, country, ended_at in _closed_clients(conn):
        for purgeable in PURGEABLE:
            years = period_years(periods.get(brand_id, {}), country, purgeable.kind)
            if years is None or retained_until(ended_at, years) > now:
                continue
            until = retained_until(ended_at, years)
            rows = conn.execute(purgeable.select, {"c": client_id}).fetchall()
            if not rows:
                continue
            items = [
                PurgedRecord(purgeable.kind, client_id, purgeable.entity_type, str(r[0]),
                             ended_at, until)
                for r in rows
            ]  # fmt: skip
            report.removed += items
            if not dry_run:
                _remove(conn, report.run_id, purgeable, client_id, rows, items)
    return report


def _remove(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    purgeable: Purgeable,
    client_id: int,
    rows: list[Any],
    items: list[PurgedRecord],
) -> None:
    for (_, detail), item in zip(rows, items, strict=True):
        conn.execute(
            """INSERT INTO retention_purges (run_id, kind, client_id, entity_type, entity_id,
                   relationship_ended_at, retained_until, detail)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (entity_type, entity_id) DO NOTHING""",
            (run_id, item.kind, client_id, item.entity_type, item.entity_id,
             item.relationship_ended_at, item.retained_until, Jsonb(detail)),
        )  # fmt: skip
    conn.execute(purgeable.delete, {"c": client_id, "ids": [int(r[0]) for r in rows]})
    record(conn, ACTOR, "retention.purge", "client", client_id, None, {
        "run_id": str(run_id),
        "kind": purgeable.kind,
        "entity_type": purgeable.entity_type,
        "entity_ids": [i.entity_id for i in items],
        "relationship_ended_at": items[0].relationship_ended_at.isoformat(),
        "retained_until": items[0].retained_until.isoformat(),
    })  # fmt: skip


def _periods(conn: psycopg.Connection[Any]) -> dict[int, dict[tuple[str, str], int]]:
    periods: dict[int, dict[tuple[str, str], int]] = {}
    for brand_id, country, kind, years in conn.execute(
        "SELECT brand_id, country, kind, years FROM retention_periods"
    ):
        periods.setdefault(int(brand_id), {})[(str(country), str(kind))] = int(years)
    return periods


def _closed_clients(conn: psycopg.Connection[Any]) -> list[tuple[int, int, str, datetime]]:
    """(client, brand, country, when the relationship ended) of every closed client."""
    rows = conn.execute(
        """SELECT c.id, c.brand_id, c.country, greatest(
               c.updated_at,
               (SELECT max(coalesce(t.closed_at, t.opened_at)) FROM trading_accounts t
                WHERE t.client_id = c.id),
               (SELECT max(p.updated_at) FROM payments p WHERE p.client_id = c.id),
               (SELECT max(e.occurred_at) FROM crm_events e WHERE e.client_id = c.id))
           FROM clients c WHERE c.status = 'closed' ORDER BY c.id"""
    ).fetchall()
    return [(int(r[0]), int(r[1]), str(r[2]), r[3]) for r in rows]


def purge_round(context: JobContext) -> int:
    """The worker's daily purge: how many records it removed."""
    with context.connection() as conn:
        return len(purge(conn).removed)


PURGE_JOB = Job("retention-purge", 24 * 3600.0, purge_round)
