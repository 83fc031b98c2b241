"""Shared by the warehouse tests: a comparable dump of the schema, the test account shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

# Everything the migrations create in the public schema, as comparable text.
_CATALOG_QUERIES = (
    """SELECT 'relation', format('%s:%s:%s', c.relname, c.relkind, c.relpersistence)
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace""",
    """SELECT 'column', format('%s.%s:%s:%s:%s', a.attrelid::regclass, a.attname,
                              format_type(a.atttypid, a.atttypmod), a.attnotnull,
                              pg_get_expr(d.adbin, d.adrelid))
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped""",
    """SELECT 'constraint', format('%s.%s:%s', conrelid::regclass, conname,
                                  pg_get_constraintdef(oid))
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
    """SELECT 'index', format('%s:%s', indexrelid::regclass, pg_get_indexdef(indexrelid))
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relnamespace = 'public'::regnamespace""",
    """SELECT 'function', format('%s:%s', p.oid::regprocedure, md5(p.prosrc))
       FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace""",
    """SELECT 'trigger', format('%s.%s:%s', tgrelid::regclass, tgname, pg_get_triggerdef(oid))
       FROM pg_trigger WHERE NOT tgisinternal""",
    """SELECT 'type', format('%s:%s', t.typname, t.typtype)
       FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace""",
    "SELECT 'extension', format('%s:%s', extname, extversion) FROM pg_extension",
    "SELECT 'meta', format('%s=%s', key, value) FROM warehouse_meta",
    "SELECT 'alembic', version_num FROM alembic_version",
)

Snapshot = Callable[[str], list[tuple[str, str]]]


def catalog_snapshot(url: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with psycopg.connect(url) as conn:
        for query in _CATALOG_QUERIES:
            try:
                with conn.transaction():
                    rows += conn.execute(query).fetchall()
            except psycopg.errors.UndefinedTable:
                continue  # warehouse_meta / alembic_version before the first migration
    return sorted(rows)


@dataclass(frozen=True)
class Account:
    client_id: int
    trading_account_id: int
    instrument_id: int
    wallet_ledger_account_id: int
    bank_ledger_account_id: int
