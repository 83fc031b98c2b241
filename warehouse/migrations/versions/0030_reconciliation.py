"""Reconciliation of PSP settlement files and bank statements.

Revision ID: 0030_reconciliation
Revises: 0029_more_psps
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0030_reconciliation"
down_revision = "0029_more_psps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
