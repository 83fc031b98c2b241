"""The AML area's worker jobs: screening of due clients, a case per new monitoring alert,
risk scores of changed clients (in that order: a screening's PEP case feeds the score)."""

from __future__ import annotations

from backoffice.aml.cases import open_alert_cases
from backoffice.aml.risk import risk_job
from backoffice.aml.screening import screening_job
from backoffice.worker import Job, JobContext


def alert_cases_job(ctx: JobContext) -> int:
    with ctx.connection() as conn:
        return open_alert_cases(conn)


AML_JOBS = (
    Job("aml.screening", 30.0, screening_job),
    Job("aml.alert_cases", 60.0, alert_cases_job),
    Job("aml.risk", 60.0, risk_job),
)
