"""Money a PSP takes back: chargebacks open a case on the client, and what the wallet no longer
holds is the client's debt, never a negative wallet.

* ``aml_cases.kind`` gains ``chargeback`` (one per disputed payment, keyed by subject);
* ``ledger_accounts.kind`` gains ``client_receivable``: per client and currency, what the client
  owes the broker after a chargeback or refund the wallet could not cover.

Revision ID: 0026_chargebacks
Revises: 0025_payments
Create Date: 2026-12-02
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0026_chargebacks"
down_revision = "0025_payments"
branch_labels = None
depends_on = None

_ACCOUNT_KINDS = (
    "'client_wallet', 'trading_account', 'withdrawal_reserve', 'psp_clearing', "
    "'client_money_bank', 'revenue_spread', 'revenue_commission', 'revenue_swap', "
    "'ib_commission_payable', 'prop_fees', 'prop_payouts', 'bonus_credit', "
    "'negative_balance_writeoff', 'broker_equity', 'revenue_fx', 'revenue_fees', 'psp_fees', "
    "'fx_conversion', 'transit'"
)


def upgrade() -> None:
    execute(
        f"""
        ALTER TABLE aml_cases DROP CONSTRAINT aml_cases_kind;
        ALTER TABLE aml_cases ADD CONSTRAINT aml_cases_kind
            CHECK (kind IN ('sanctions_hit', 'pep', 'monitoring_alert', 'chargeback'));
        ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind;
        ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind
            CHECK (kind IN ({_ACCOUNT_KINDS}, 'client_receivable'));
        """
    )


def downgrade() -> None:
    execute(
        f"""
        DELETE FROM aml_cases WHERE kind = 'chargeback';
        ALTER TABLE aml_cases DROP CONSTRAINT aml_cases_kind;
        ALTER TABLE aml_cases ADD CONSTRAINT aml_cases_kind
            CHECK (kind IN ('sanctions_hit', 'pep', 'monitoring_alert'));
        ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind;
        ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind
            CHECK (kind IN ({_ACCOUNT_KINDS}));
        """
    )
