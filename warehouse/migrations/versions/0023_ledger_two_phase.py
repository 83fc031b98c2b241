"""The ledger for all money: stored balances with floors, two-phase (pending) transfers, and
the content digest that makes an idempotency key answer only the transfer it was made for.

* ``ledger_transfers.content_sha256``: the SHA-256 of a transfer's content (currency, kind,
  entries); the same key with other content is a conflict, never a second posting.
* ``ledger_balances``: one row per ledger account whose balance is guarded (what the broker
  owes a client or a partner: a wallet, a reserve, IB commission payable, prop payouts must
  never go below zero, nor below what open pending transfers hold against them): the sum of
  its entries and those holds. Created with the account (a trigger), updated by the posting
  function under a row lock, recomputed by ``brokerstack ledger check``. Other balances
  (trading accounts, whose truth is the execution core's; PSP clearing, banks, revenue, FX,
  transit) are the sum of their entries, read when needed: no hot row serialises them.
* ``ledger_pending``: a reservation of an amount from one account to another, until it is
  posted (in part: the rest is released), voided or expires. Pending transfers are never
  entries: a reservation moves no money, it only holds it. Both tables are append-only; a
  pending transfer is open while it has no resolution.

Revision ID: 0023_ledger_two_phase
Revises: 0022_document_content_removals
Create Date: 2026-12-02
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0023_ledger_two_phase"
down_revision = "0022_document_content_removals"
branch_labels = None
depends_on = None

_ACCOUNT_KINDS = (
    "'client_wallet', 'trading_account', 'withdrawal_reserve', 'psp_clearing', "
    "'client_money_bank', 'revenue_spread', 'revenue_commission', 'revenue_swap', "
    "'ib_commission_payable', 'prop_fees', 'prop_payouts', 'bonus_credit', "
    "'negative_balance_writeoff', 'broker_equity'"
)
_NEW_ACCOUNT_KINDS = "'revenue_fx', 'revenue_fees', 'psp_fees', 'fx_conversion', 'transit'"
_TRANSFER_KINDS = (
    "'deposit', 'withdrawal_reserve', 'withdrawal_post', 'withdrawal_void', "
    "'trading_deposit', 'trading_withdrawal', 'trading_result', 'ib_commission', 'ib_payout', "
    "'prop_fee', 'prop_payout', 'bonus', 'fee', 'correction'"
)
# What the ledger owes a client or a partner: never below zero, nor below what is reserved.
_GUARDED = "'client_wallet', 'withdrawal_reserve', 'ib_commission_payable', 'prop_payouts'"
_NEW_TRANSFER_KINDS = "'withdrawal', 'wallet_transfer', 'fx_conversion', 'refund', 'chargeback'"


def upgrade() -> None:
    execute(
        f"""
        ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind;
        ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind
            CHECK (kind IN ({_ACCOUNT_KINDS}, {_NEW_ACCOUNT_KINDS}));
        ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_kind;
        ALTER TABLE ledger_transfers ADD CONSTRAINT ledger_transfers_kind
            CHECK (kind IN ({_TRANSFER_KINDS}, {_NEW_TRANSFER_KINDS}));
        ALTER TABLE ledger_transfers ADD COLUMN content_sha256 text
            CONSTRAINT ledger_transfers_digest CHECK (content_sha256 ~ '^[0-9a-f]{{64}}$');

        -- Signs as in the entries: debits positive. A credit floor (a liability to a client or
        -- a partner) keeps -(balance) - pending_debits >= 0: what the owner may still take.
        CREATE TABLE ledger_balances (
            ledger_account_id bigint PRIMARY KEY,
            currency          currency_code NOT NULL,
            balance           numeric(28, 8) NOT NULL DEFAULT 0,
            pending_debits    numeric(28, 8) NOT NULL DEFAULT 0
                                  CONSTRAINT ledger_balances_pending_debits
                                  CHECK (pending_debits >= 0),
            pending_credits   numeric(28, 8) NOT NULL DEFAULT 0
                                  CONSTRAINT ledger_balances_pending_credits
                                  CHECK (pending_credits >= 0),
            floor             text CONSTRAINT ledger_balances_floor CHECK (floor IN ('credit')),
            FOREIGN KEY (ledger_account_id, currency) REFERENCES ledger_accounts (id, currency)
        );

        CREATE FUNCTION ledger_balance_for_account() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.kind IN ({_GUARDED}) THEN
                INSERT INTO ledger_balances (ledger_account_id, currency, floor)
                VALUES (NEW.id, NEW.currency, 'credit');
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER ledger_accounts_balance AFTER INSERT ON ledger_accounts
            FOR EACH ROW EXECUTE FUNCTION ledger_balance_for_account();

        INSERT INTO ledger_balances (ledger_account_id, currency, balance, floor)
        SELECT a.id, a.currency, coalesce(sum(e.amount), 0), 'credit'
        FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.ledger_account_id = a.id
        WHERE a.kind IN ({_GUARDED})
        GROUP BY a.id, a.currency;

        CREATE TABLE ledger_pending (
            id                bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            idempotency_key   text NOT NULL UNIQUE,
            content_sha256    text NOT NULL CONSTRAINT ledger_pending_digest
                                  CHECK (content_sha256 ~ '^[0-9a-f]{{64}}$'),
            currency          currency_code NOT NULL,
            kind              text NOT NULL CONSTRAINT ledger_pending_kind
                                  CHECK (kind IN ({_TRANSFER_KINDS}, {_NEW_TRANSFER_KINDS})),
            debit_account_id  bigint NOT NULL,
            credit_account_id bigint NOT NULL,
            amount            numeric(28, 8) NOT NULL CONSTRAINT ledger_pending_amount
                                  CHECK (amount > 0),
            description       text NOT NULL DEFAULT '',
            created_by        text NOT NULL DEFAULT 'system',
            created_at        timestamptz NOT NULL DEFAULT now(),
            expires_at        timestamptz NOT NULL,
            CONSTRAINT ledger_pending_two_accounts CHECK (debit_account_id <> credit_account_id),
            CONSTRAINT ledger_pending_expiry CHECK (expires_at > created_at),
            FOREIGN KEY (debit_account_id, currency) REFERENCES ledger_accounts (id, currency),
            FOREIGN KEY (credit_account_id, currency) REFERENCES ledger_accounts (id, currency)
        );
        CREATE TRIGGER ledger_pending_immutable BEFORE UPDATE OR DELETE ON ledger_pending
            FOR EACH ROW EXECUTE FUNCTION refuse_change();

        CREATE TABLE ledger_pending_resolutions (
            pending_id    bigint PRIMARY KEY REFERENCES ledger_pending,
            outcome       text NOT NULL CONSTRAINT ledger_pending_resolutions_outcome
                              CHECK (outcome IN ('posted', 'voided', 'expired')),
            posted_amount numeric(28, 8) CONSTRAINT ledger_pending_resolutions_posted
                              CHECK (posted_amount > 0),
            transfer_id   bigint UNIQUE REFERENCES ledger_transfers,
            reason        text NOT NULL DEFAULT '',
            resolved_by   text NOT NULL DEFAULT 'system',
            resolved_at   timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ledger_pending_resolutions_shape CHECK (
                (outcome = 'posted') = (posted_amount IS NOT NULL AND transfer_id IS NOT NULL))
        );
        CREATE TRIGGER ledger_pending_resolutions_immutable
            BEFORE UPDATE OR DELETE ON ledger_pending_resolutions
            FOR EACH ROW EXECUTE FUNCTION refuse_change();
        -- the expiry sweep's question: which open reservations are past their time?
        CREATE INDEX ledger_pending_expires_idx ON ledger_pending (expires_at);
        CREATE INDEX ledger_pending_debit_idx ON ledger_pending (debit_account_id);
        CREATE INDEX ledger_pending_credit_idx ON ledger_pending (credit_account_id);
        """
    )


def downgrade() -> None:
    execute(
        f"""
        DROP TABLE ledger_pending_resolutions;
        DROP TABLE ledger_pending;
        DROP TRIGGER ledger_accounts_balance ON ledger_accounts;
        DROP FUNCTION ledger_balance_for_account();
        DROP TABLE ledger_balances;
        ALTER TABLE ledger_transfers DROP COLUMN content_sha256;
        DELETE FROM ledger_accounts WHERE kind IN ({_NEW_ACCOUNT_KINDS});
        ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind;
        ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind
            CHECK (kind IN ({_ACCOUNT_KINDS}));
        ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_kind;
        ALTER TABLE ledger_transfers ADD CONSTRAINT ledger_transfers_kind
            CHECK (kind IN ({_TRANSFER_KINDS}));
        """
    )
