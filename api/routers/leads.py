"""Lead capture for the brands' websites: ``POST /v1/leads`` with the brand's site key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import BaseModel, Field

from api.deps import IdempotencyKey, ServicesDep
from api.errors import ERROR_RESPONSES, ApiError
from api.ratelimit import Limit
from backoffice.crm.errors import InvalidSiteKey
from backoffice.crm.leads import submit_lead
from backoffice.crm.site_keys import KEY_PATTERN
from backoffice.crm.submission import LeadSubmission

router = APIRouter(prefix="/v1", tags=["leads"], responses=ERROR_RESPONSES)


class LeadAccepted(BaseModel):
    lead_id: int = Field(description="The same id for every submission of the same visitor")


async def _per_visitor(request: Request, services: ServicesDep) -> None:
    settings = services.root.backoffice
    limit = Limit(settings.lead_submissions_per_second, settings.lead_submission_burst)
    address = request.client.host if request.client else "unknown"
    await services.limiter.check([(f"rl:leads:{address}", limit)], "lead submissions")


@router.post(
    "/leads",
    response_model=LeadAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(_per_visitor)],
    summary="Capture a lead from the brand's website",
    description="Send the brand's site key as `X-Brand-Key`. A visitor already known by "
    "e-mail or phone keeps their lead (the answer names it); an `Idempotency-Key` makes a "
    "retry change nothing.",
)
def capture(
    services: ServicesDep,
    body: LeadSubmission,
    brand_key: Annotated[str, Header(alias="X-Brand-Key", pattern=KEY_PATTERN)],
    idempotency_key: IdempotencyKey = None,
) -> LeadAccepted:
    with services.db.connection() as conn:
        try:
            captured = submit_lead(conn, brand_key, body, idempotency_key)
        except InvalidSiteKey as exc:
            raise ApiError(401, exc.code, exc.message) from exc
    return LeadAccepted(lead_id=captured.lead_id)
