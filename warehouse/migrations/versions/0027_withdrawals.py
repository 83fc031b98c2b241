"""Withdrawals as the money path needs them: a hold in the ledger from the request on, finance's
approvals (two different staff members above the brand's threshold), the PSP's payout, and the
state the client sees at each step.

``withdrawals`` (empty until now) moves from a reserve transfer to a pending one
(``pending_id``); statuses ``pending_approval`` -> ``approved`` -> ``sent`` -> ``paid``, or
``rejected`` / ``canceled`` / ``failed`` (the hold released). ``payment_id`` is the payout's
``payments`` row (direction ``withdrawal``) the PSP's events move. ``withdrawal_approvals``:
one row per approving staff member, append-only.

Revision ID: 0027_withdrawals
Revises: 0026_chargebacks
Create Date: 2026-12-02
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0027_withdrawals"
down_revision = "0026_chargebacks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
        ALTER TABLE withdrawals DROP CONSTRAINT withdrawals_settled_state;
        ALTER TABLE withdrawals DROP CONSTRAINT withdrawals_status;
        ALTER TABLE withdrawals ALTER COLUMN reserve_transfer_id DROP NOT NULL;
        ALTER TABLE withdrawals ALTER COLUMN status SET DEFAULT 'pending_approval';
        ALTER TABLE withdrawals ADD CONSTRAINT withdrawals_status
            CHECK (status IN ('pending_approval', 'approved', 'sent', 'paid', 'failed',
                              'rejected', 'canceled'));
        ALTER TABLE withdrawals
            ADD COLUMN brand_id bigint REFERENCES brands,
            ADD COLUMN psp text,
            ADD COLUMN pending_id bigint UNIQUE REFERENCES ledger_pending,
            ADD COLUMN approvals_needed smallint NOT NULL DEFAULT 1
                CONSTRAINT withdrawals_approvals_needed CHECK (approvals_needed IN (1, 2)),
            ADD COLUMN requested_by_staff bigint REFERENCES staff_users,
            ADD COLUMN failure text,
            ADD COLUMN reason text,
            ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
        CREATE INDEX withdrawals_status_idx ON withdrawals (status, requested_at);
        CREATE INDEX withdrawals_client_idx ON withdrawals (client_id, requested_at);

        CREATE TABLE withdrawal_approvals (
            withdrawal_id bigint NOT NULL REFERENCES withdrawals,
            staff_user_id bigint NOT NULL REFERENCES staff_users,
            approved_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (withdrawal_id, staff_user_id)
        );
        CREATE TRIGGER withdrawal_approvals_immutable
            BEFORE UPDATE OR DELETE ON withdrawal_approvals
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        """
    )


def downgrade() -> None:
    execute(
        """
        DROP TABLE withdrawal_approvals;
        DROP INDEX withdrawals_client_idx;
        DROP INDEX withdrawals_status_idx;
        DELETE FROM withdrawals;
        ALTER TABLE withdrawals
            DROP COLUMN brand_id, DROP COLUMN psp, DROP COLUMN pending_id,
            DROP COLUMN approvals_needed, DROP COLUMN requested_by_staff, DROP COLUMN failure,
            DROP COLUMN reason, DROP COLUMN updated_at;
        ALTER TABLE withdrawals DROP CONSTRAINT withdrawals_status;
        ALTER TABLE withdrawals ALTER COLUMN status SET DEFAULT 'pending';
        ALTER TABLE withdrawals ADD CONSTRAINT withdrawals_status
            CHECK (status IN ('pending', 'posted', 'voided'));
        ALTER TABLE withdrawals ALTER COLUMN reserve_transfer_id SET NOT NULL;
        ALTER TABLE withdrawals ADD CONSTRAINT withdrawals_settled_state CHECK (
            (status = 'pending') = (settle_transfer_id IS NULL AND decided_at IS NULL));
        """
    )
