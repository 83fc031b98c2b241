"""KYC documents' bytes removed after their rows were purged: one row per purged document
(its ``retention_purges`` row), saying whether the bytes went or were kept because another
document still refers to the same content (found by the new index on their SHA-256). The
purge removes rows in a transaction; the bytes live outside it (a folder or a bucket), so
they go afterwards, and this table is how a purge interrupted between the two finishes the
job on its next round.

Revision ID: 0022_document_content_removals
Revises: 0021_portal
Create Date: 2026-12-02
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0022_document_content_removals"
down_revision = "0021_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
        CREATE TABLE kyc_document_content_removals (
            purge_id   bigint PRIMARY KEY REFERENCES retention_purges,
            sha256     text NOT NULL CONSTRAINT kyc_document_content_removals_digest
                           CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            outcome    text NOT NULL CONSTRAINT kyc_document_content_removals_outcome
                           CHECK (outcome IN ('removed', 'shared')),
            removed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TRIGGER kyc_document_content_removals_immutable
            BEFORE UPDATE OR DELETE ON kyc_document_content_removals
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        -- "does another document still refer to these bytes?"
        CREATE INDEX kyc_documents_sha256_idx ON kyc_documents (sha256);
        """
    )


def downgrade() -> None:
    execute("DROP INDEX kyc_documents_sha256_idx; DROP TABLE kyc_document_content_removals;")
