"""The KYC area's worker jobs: apply the webhook inbox (every second), lapse approvals whose
documents expired or review is due (hourly), remove the stored bytes of documents the
retention purge removed (hourly)."""

from __future__ import annotations

from backoffice.kyc.content_removal import CONTENT_REMOVAL_JOB
from backoffice.kyc.lapses import LAPSES_JOB
from backoffice.kyc.processing import INBOX_JOB
from backoffice.worker import Job

KYC_JOBS: list[Job] = [INBOX_JOB, LAPSES_JOB, CONTENT_REMOVAL_JOB]
