"""LP session logon and transport settings (placeholder: filled by the FIX bridge work).

Revision ID: 0011_lp_session_security
Revises: 0010_lp_health
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0011_lp_session_security"
down_revision = "0010_lp_health"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
