"""A client's KYC applicant reused across submissions.

The provider keeps one applicant per client (our client id as its external user id) and
refuses a second: the application for the next level (proof of address after identity) moves
that applicant to its level. Several applications of a client therefore share the applicant id;
``provider_level_name`` (the provider's level the application was submitted at, which the
webhooks name) tells them apart.

Revision ID: 0028_kyc_applicant_reuse
Revises: 0027_withdrawals
Create Date: 2026-12-02
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0028_kyc_applicant_reuse"
down_revision = "0027_withdrawals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
        ALTER TABLE kyc_applications ADD COLUMN provider_level_name text;
        UPDATE kyc_applications a SET provider_level_name = l.name
        FROM clients c, kyc_levels l
        WHERE c.id = a.client_id AND l.brand_id = c.brand_id AND l.level = a.target_level
          AND a.provider_applicant_id IS NOT NULL;
        ALTER TABLE kyc_applications
            DROP CONSTRAINT kyc_applications_provider_provider_applicant_id_key,
            ADD CONSTRAINT kyc_applications_applicant_level
                UNIQUE (provider, provider_applicant_id, provider_level_name);
        """
    )


def downgrade() -> None:
    execute(
        """
        -- the older applications sharing an applicant forget it (one row per applicant again)
        UPDATE kyc_applications a SET provider_applicant_id = NULL
        WHERE EXISTS (SELECT 1 FROM kyc_applications b
                      WHERE b.provider = a.provider
                        AND b.provider_applicant_id = a.provider_applicant_id AND b.id > a.id);
        ALTER TABLE kyc_applications
            DROP CONSTRAINT kyc_applications_applicant_level,
            ADD CONSTRAINT kyc_applications_provider_provider_applicant_id_key
                UNIQUE (provider, provider_applicant_id);
        ALTER TABLE kyc_applications DROP COLUMN provider_level_name;
        """
    )
