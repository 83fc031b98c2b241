"""Every background job of the back office, as the worker runs them (each area adds its own
here; the order is the order of a round)."""

from __future__ import annotations

from backoffice.audit.retention import PURGE_JOB
from backoffice.worker import Job

JOBS: list[Job] = [
    PURGE_JOB,
]
