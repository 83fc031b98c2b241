"""Every background job of the back office, as the worker runs them (each area adds its own
here; the order is the order of a round)."""

from __future__ import annotations

from backoffice.kyc.jobs import KYC_JOBS
from backoffice.worker import Job

JOBS: list[Job] = [*KYC_JOBS]
