"""Execution service state that is not a row of its own elsewhere (placeholder: filled by the
execution core work).

Revision ID: 0012_execution_state
Revises: 0011_lp_session_security
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0012_execution_state"
down_revision = "0011_lp_session_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
