"""Every background job of the back office, as the worker runs them (each area adds its own
here; the order is the order of a round)."""

from __future__ import annotations

from backoffice.aml.jobs import AML_JOBS
from backoffice.audit.retention import PURGE_JOB
from backoffice.comms.delivery import OUTBOX
from backoffice.crm.automation_job import RETENTION_AUTOMATIONS
from backoffice.kyc.jobs import KYC_JOBS
from backoffice.payments.expiry import EXPIRY_JOB as UNPAID_DEPOSITS
from backoffice.payments.processing import INBOX_JOB as PAYMENTS_INBOX
from backoffice.payments.withdrawals import PAYOUT_JOB as PAYOUTS
from backoffice.trading.flags import CLIENT_FLAGS_JOB
from backoffice.wallets.trading_transfers import RECOVERY_JOB as WALLET_TRANSFERS
from backoffice.worker import Job

JOBS: list[Job] = [
    *KYC_JOBS,
    PAYMENTS_INBOX,
    PAYOUTS,
    UNPAID_DEPOSITS,
    CLIENT_FLAGS_JOB,
    WALLET_TRANSFERS,
    OUTBOX,
    *AML_JOBS,
    RETENTION_AUTOMATIONS,
    PURGE_JOB,
]
