"""What a PSP settled in: a settlement row's gross stays what the client paid, in the payment's
currency; its fee and net are in ``settled_currency``, converted by the PSP at ``rate`` (settled
units per unit paid). A crypto gateway's row also names the coin that moved and how much of it
(``asset``, ``asset_amount``: both or neither). Rows imported before this settle in their own
currency at 1.

Revision ID: 0031_settlement_currencies
Revises: 0030_reconciliation
Create Date: 2026-12-03
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0031_settlement_currencies"
down_revision = "0030_reconciliation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
        ALTER TABLE settlement_rows
            ADD COLUMN settled_currency currency_code,
            ADD COLUMN rate numeric(24, 12) NOT NULL DEFAULT 1
                CONSTRAINT settlement_rows_rate CHECK (rate > 0),
            ADD COLUMN asset text,
            ADD COLUMN asset_amount numeric(38, 18),
            ADD CONSTRAINT settlement_rows_asset CHECK ((asset IS NULL) = (asset_amount IS NULL));
        -- the rows are immutable to everyone else: this one backfill is the schema's own
        ALTER TABLE settlement_rows DISABLE TRIGGER settlement_rows_immutable;
        UPDATE settlement_rows SET settled_currency = currency;
        ALTER TABLE settlement_rows ENABLE TRIGGER settlement_rows_immutable;
        ALTER TABLE settlement_rows
            ALTER COLUMN settled_currency SET NOT NULL,
            ALTER COLUMN rate DROP DEFAULT;
        COMMENT ON COLUMN settlement_rows.gross IS 'in currency: what the client paid';
        COMMENT ON COLUMN settlement_rows.fee IS 'in settled_currency';
        COMMENT ON COLUMN settlement_rows.net IS 'in settled_currency';
        """
    )


def downgrade() -> None:
    execute(
        """
        ALTER TABLE settlement_rows
            DROP CONSTRAINT settlement_rows_asset,
            DROP COLUMN asset_amount,
            DROP COLUMN asset,
            DROP COLUMN rate,
            DROP COLUMN settled_currency;
        """
    )
