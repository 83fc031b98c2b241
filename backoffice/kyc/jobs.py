"""The KYC area's worker jobs: apply the webhook inbox (every second), lapse approvals whose
documents expired or review is due (hourly)."""

from __future__ import annotations

from backoffice.kyc.lapses import LAPSES_JOB
from backoffice.kyc.processing import INBOX_JOB
from backoffice.worker import Job

KYC_JOBS: list[Job] = [INBOX_JOB, LAPSES_JOB]
