"""The e-wallet and crypto PSPs.

Revision ID: 0029_more_psps
Revises: 0028_kyc_applicant_reuse
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0029_more_psps"
down_revision = "0028_kyc_applicant_reuse"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
