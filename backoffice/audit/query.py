"""Reading the audit trail for staff: an entity's records, or one client's whole trail (the
client, its accounts, KYC, payments, and any record naming it), within the staff member's
brands — another brand's entity is not found, exactly like one that does not exist.

The two maps are how areas make their records reachable: ``ENTITY_BRAND`` finds the brand an
entity belongs to (one query of the entity id, as text), ``CLIENT_ENTITIES`` the ids of a
client's entities of a type. An area that audits a new entity type adds a row to each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from backoffice.errors import not_found
from backoffice.scope import BrandScope

ENTITY_BRAND: dict[str, str] = {
    "brand": "SELECT id FROM brands WHERE id::text = %s",
    "client": "SELECT brand_id FROM clients WHERE id::text = %s",
    "lead": "SELECT brand_id FROM leads WHERE id::text = %s",
    "trading_account": """SELECT c.brand_id FROM trading_accounts t
                          JOIN clients c ON c.id = t.client_id WHERE t.id::text = %s""",
    "wallet": "SELECT c.brand_id FROM wallets w JOIN clients c ON c.id = w.client_id "
    "WHERE w.id::text = %s",
    "payment": "SELECT c.brand_id FROM payments p JOIN clients c ON c.id = p.client_id "
    "WHERE p.id::text = %s",
    "withdrawal": "SELECT c.brand_id FROM withdrawals w JOIN clients c ON c.id = w.client_id "
    "WHERE w.id::text = %s",
    "kyc_application": "SELECT c.brand_id FROM kyc_applications k "
    "JOIN clients c ON c.id = k.client_id WHERE k.id::text = %s",
    # the staff queues' records (KYC documents, AML cases, CRM tasks and notes)
    "kyc_document": "SELECT c.brand_id FROM kyc_documents d JOIN kyc_applications k "
    "ON k.id = d.application_id JOIN clients c ON c.id = k.client_id WHERE d.id::text = %s",
    "aml_case": "SELECT c.brand_id FROM aml_cases k JOIN clients c ON c.id = k.client_id "
    "WHERE k.id::text = %s",
    "crm_task": "SELECT brand_id FROM crm_tasks WHERE id::text = %s",
    "crm_event": "SELECT coalesce(c.brand_id, l.brand_id) FROM crm_events e "
    "LEFT JOIN clients c ON c.id = e.client_id LEFT JOIN leads l ON l.id = e.lead_id "
    "WHERE e.id::text = %s",
}

# entity type -> the ids (as text) of one client's entities of that type; %(c)s is the client id
CLIENT_ENTITIES: dict[str, str] = {
    "client": "SELECT %(c)s::bigint::text",
    "trading_account": "SELECT id::text FROM trading_accounts WHERE client_id = %(c)s",
    "wallet": "SELECT id::text FROM wallets WHERE client_id = %(c)s",
    "payment": "SELECT id::text FROM payments WHERE client_id = %(c)s",
    "withdrawal": "SELECT id::text FROM withdrawals WHERE client_id = %(c)s",
    "kyc_application": "SELECT id::text FROM kyc_applications WHERE client_id = %(c)s",
    "kyc_document": """SELECT d.id::text FROM kyc_documents d
                       JOIN kyc_applications k ON k.id = d.application_id
                       WHERE k.client_id = %(c)s""",
    "lead": "SELECT id::text FROM leads WHERE client_id = %(c)s",
}

_COLUMNS = """a.id, a.chain_seq, a.occurred_at, a.actor_type, a.actor_id, a.action,
              a.entity_type, a.entity_id, a.before, a.after, a.prev_hash, a.hash"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    chain_seq: int
    occurred_at: datetime
    actor_type: str
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str  # hex
    hash: str  # hex


def entity_brand(conn: psycopg.Connection[Any], entity_type: str, entity_id: str) -> int | None:
    query = ENTITY_BRAND.get(entity_type)
    row = None if query is None else conn.execute(query, (entity_id,)).fetchone()
    return None if row is None else int(row[0])


def entity_trail(
    conn: psycopg.Connection[Any],
    scope: BrandScope,
    entity_type: str,
    entity_id: str,
    limit: int = 500,
) -> list[AuditEntry]:
    """An entity's records, oldest first. Staff limited to some brands see only entities of a
    type whose brand is known and theirs; an every-brand member sees any."""
    if not scope.unlimited and not scope.allows(entity_brand(conn, entity_type, entity_id)):
        raise not_found(entity_type, entity_id)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"""SELECT {_COLUMNS} FROM audit_log a
                WHERE a.entity_type = %s AND a.entity_id = %s ORDER BY a.chain_seq LIMIT %s""",
            (entity_type, entity_id, limit),
        )
        return [_entry(r) for r in cur.fetchall()]


def client_trail(
    conn: psycopg.Connection[Any], scope: BrandScope, client_id: int
) -> list[AuditEntry]:
    """One client's whole trail (within the staff member's brands), oldest first."""
    row = conn.execute("SELECT brand_id FROM clients WHERE id = %s", (client_id,)).fetchone()
    if row is None or not scope.allows(int(row[0])):
        raise not_found("client", client_id)
    return list(iter_client_trail(conn, client_id))


def iter_client_trail(conn: psycopg.Connection[Any], client_id: int) -> Iterator[AuditEntry]:
    """Every record about the client, its entities, or naming it as ``client_id``."""
    owned = " OR ".join(
        f"(a.entity_type = '{entity}' AND a.entity_id IN ({ids}))"
        for entity, ids in CLIENT_ENTITIES.items()
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"""SELECT {_COLUMNS} FROM audit_log a
                WHERE {owned} OR a.before->>'client_id' = %(c)s::text
                   OR a.after->>'client_id' = %(c)s::text
                ORDER BY a.chain_seq""",
            {"c": client_id},
        )
        for r in cur:
            yield _entry(r)


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=int(row["id"]),
        chain_seq=int(row["chain_seq"]),
        occurred_at=row["occurred_at"],
        actor_type=row["actor_type"],
        actor_id=row["actor_id"],
        action=row["action"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        before=row["before"],
        after=row["after"],
        prev_hash=bytes(row["prev_hash"]).hex(),
        hash=bytes(row["hash"]).hex(),
    )
