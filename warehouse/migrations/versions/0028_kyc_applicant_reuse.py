"""A client's KYC applicant reused across submissions.

Revision ID: 0028_kyc_applicant_reuse
Revises: 0027_withdrawals
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0028_kyc_applicant_reuse"
down_revision = "0027_withdrawals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
