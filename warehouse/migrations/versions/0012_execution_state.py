"""Execution service state that is no row of its own elsewhere: per book shard (its command
journal consumer), the swap rollover it last applied, so a restart catches up on the rollovers
due while it was down, exactly once (written in the transaction that charges the swaps).

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
        """
    )


def downgrade() -> None:
    execute("DROP TABLE execution_state;")
