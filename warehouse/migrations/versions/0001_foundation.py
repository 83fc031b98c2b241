"""Foundation: the storage path (TimescaleDB or plain PostgreSQL) and shared SQL types.

The path is chosen here, once, by feature detection, and recorded in ``warehouse_meta`` so
every later revision and the running code make the same choice.

Revision ID: 0001_foundation
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

import psycopg

from warehouse.db import detect_timescale
from warehouse.migrations.ddl import execute, meta_value, raw_connection, set_meta

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def _install_timescale() -> bool:
    """Create the extension if the server offers it; True when we created it."""
    conn = raw_connection()
    support = detect_timescale(conn)
    if support.installed or not support.available:
        return False
    try:
        # A savepoint: servers that list the extension but do not preload its library
        # refuse CREATE EXTENSION, and then the plain path is the right answer.
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error:
        return False
    return True


def upgrade() -> None:
    execute(
        """
        CREATE TABLE warehouse_meta (
            key        text PRIMARY KEY,
            value      text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE warehouse_meta IS
            'Facts about this warehouse decided at migration time (storage path, features).';

        CREATE DOMAIN currency_code AS text
            CHECK (VALUE ~ '^[A-Z][A-Z0-9]{2,5}$');
        CREATE DOMAIN money_amount AS numeric(28, 8);
        CREATE DOMAIN lots AS numeric(20, 8) CHECK (VALUE > 0);
        CREATE DOMAIN exact_price AS numeric(24, 10) CHECK (VALUE > 0);
        CREATE DOMAIN ratio AS numeric(12, 8) CHECK (VALUE >= 0 AND VALUE <= 1);

        -- Immutable records (ledger, journals, audit): corrections are new rows.
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% rows are immutable; record a correction instead', TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END $$;
        """
    )
    created = _install_timescale()
    support = detect_timescale(raw_connection())
    set_meta("storage_path", "timescale" if support.installed else "plain")
    set_meta("timescale_version", support.installed_version or "")
    set_meta("timescale_license", support.license or "")
    set_meta("timescale_community", "true" if support.community_features else "false")
    set_meta("timescale_created_by_warehouse", "true" if created else "false")


def downgrade() -> None:
    drop_extension = meta_value("timescale_created_by_warehouse") == "true"
    execute(
        """
        DROP FUNCTION refuse_change();
        DROP DOMAIN ratio;
        DROP DOMAIN exact_price;
        DROP DOMAIN lots;
        DROP DOMAIN money_amount;
        DROP DOMAIN currency_code;
        DROP TABLE warehouse_meta;
        """
    )
    if drop_extension:
        execute("DROP EXTENSION IF EXISTS timescaledb")
