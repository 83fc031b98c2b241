"""What the execution service journals so that a restart continues exactly and a trading day
can be replayed through the core:

- ``execution_state``: per book shard (its command journal consumer), the swap rollover it
  last applied, so a restart catches up on the rollovers due while it was down, exactly once
  (written in the transaction that charges the swaps);
- ``command_journal.applied_at``: the core's time for each command (every input has its own);
- ``positions.open_value``: the exact sum of price x lots opened (the average open price is
  rounded to the symbol's digits; a restart must not round a position's profit);
- ``account_snapshots``: each account's exact state at the daily cut, where it changed;
- ``symbol_quote_states``: when a symbol went off quotes and came back.

Revision ID: 0012_execution_state
Revises: 0011_lp_session_security
Create Date: 2026-12-01
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0012_execution_state"
down_revision = "0011_lp_session_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
        CREATE TABLE execution_state (
            consumer         text PRIMARY KEY,
            last_rollover_at timestamptz NOT NULL,
            updated_at       timestamptz NOT NULL DEFAULT now()
        );

        ALTER TABLE command_journal ADD COLUMN applied_at timestamptz;
        CREATE INDEX command_journal_applied_idx ON command_journal (consumer, applied_at);

        ALTER TABLE positions ADD COLUMN open_value numeric(36, 14)
            CONSTRAINT positions_open_value_positive CHECK (open_value > 0);

        -- The core's own image of the account (msgpack, integer units): exact, replayable.
        CREATE TABLE account_snapshots (
            trading_account_id bigint NOT NULL REFERENCES trading_accounts,
            taken_at           timestamptz NOT NULL,
            consumer           text NOT NULL,
            image              bytea NOT NULL,
            PRIMARY KEY (trading_account_id, taken_at)
        );

        CREATE TABLE symbol_quote_states (
            instrument_id bigint NOT NULL REFERENCES instruments,
            changed_at    timestamptz NOT NULL,
            live          boolean NOT NULL,
            reason        text NOT NULL DEFAULT '',
            PRIMARY KEY (instrument_id, changed_at)
        );
        """
    )


def downgrade() -> None:
    execute(
        """
        DROP TABLE symbol_quote_states;
        DROP TABLE account_snapshots;
        ALTER TABLE positions DROP COLUMN open_value;
        DROP INDEX command_journal_applied_idx;
        ALTER TABLE command_journal DROP COLUMN applied_at;
        DROP TABLE execution_state;
        """
    )
