"""The e-wallet and crypto PSPs.

* ``psp_deposit_addresses``: a crypto gateway's deposit address for one client in one currency,
  asked for once and reused (the same client always pays to the same address); an address
  belongs to one client of one provider.
* ``payments.deposit_address``: the address a crypto deposit is expected at (each transfer that
  reaches it is a payment of its own).
* ``withdrawals.destination``: where a crypto payout goes (an address the client gives); other
  methods pay back to the deposit's source and have none.

Revision ID: 0029_more_psps
Revises: 0028_kyc_applicant_reuse
Create Date: 2026-12-02
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0029_more_psps"
down_revision = "0028_kyc_applicant_reuse"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
        CREATE TABLE psp_deposit_addresses (
            client_id  bigint NOT NULL REFERENCES clients,
            provider   text NOT NULL CONSTRAINT psp_deposit_addresses_provider
                           CHECK (provider ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
            currency   currency_code NOT NULL,
            address    text NOT NULL CONSTRAINT psp_deposit_addresses_address
                           CHECK (address ~ '^[A-Za-z0-9]{26,64}$'),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (client_id, provider, currency),
            CONSTRAINT psp_deposit_addresses_one_owner UNIQUE (provider, address)
        );
        ALTER TABLE payments ADD COLUMN deposit_address text
            CONSTRAINT payments_deposit_address CHECK (deposit_address ~ '^[A-Za-z0-9]{26,64}$');
        CREATE INDEX payments_deposit_address_idx ON payments (psp, deposit_address)
            WHERE deposit_address IS NOT NULL;
        ALTER TABLE withdrawals ADD COLUMN destination text
            CONSTRAINT withdrawals_destination CHECK (destination ~ '^[A-Za-z0-9]{26,64}$');
        """
    )


def downgrade() -> None:
    execute(
        """
        ALTER TABLE withdrawals DROP COLUMN destination;
        DROP INDEX payments_deposit_address_idx;
        ALTER TABLE payments DROP COLUMN deposit_address;
        DROP TABLE psp_deposit_addresses;
        """
    )
