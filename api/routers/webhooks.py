"""``POST /v1/webhooks/kyc/{provider}``: a KYC provider's signed webhook, kept before we answer.

The digest is checked on the raw body; a forged or changed body gets 401 and nothing is kept.
A verified event is stored in the inbox and answered 200 at once (a duplicate too, so the
provider stops retrying); the back-office worker applies it later.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from api.deps import Services
from api.errors import ApiError, ErrorBody
from backoffice.kyc import errors as kyc_errors
from backoffice.kyc.intake import store_webhook, verify_webhook
from backoffice.payments import intake as payment_intake

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


async def _raw_body(request: Request) -> bytes:
    # the exact bytes the digest covers, before anything parses them
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]
_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "example": "applicantReviewed"},
        "applicantId": {"type": "string"},
        "externalUserId": {"type": "string"},
        "correlationId": {"type": "string"},
        "createdAtMs": {"type": "string"},
        "reviewResult": {"type": "object"},
    },
}


@router.post(
    "/kyc/{provider}",
    summary="A KYC provider's webhook (signed with X-Payload-Digest)",
    responses={
        400: {"model": ErrorBody, "description": "A signed body that is not an event"},
        401: {"model": ErrorBody, "description": "Digest missing or not matching the body"},
        404: {"model": ErrorBody, "description": "No such provider"},
    },
    openapi_extra={
        "requestBody": {
            "required": True, "content": {"application/json": {"schema": _EVENT_SCHEMA}},
        },
        "parameters": [
            {"name": "X-Payload-Digest", "in": "header", "required": True,
             "schema": {"type": "string"}, "description": "HMAC (hex) of the raw body"},
            {"name": "X-Payload-Digest-Alg", "in": "header", "required": False,
             "schema": {"type": "string", "example": "HMAC_SHA256_HEX"}},
        ],
    },
)  # fmt: skip
async def kyc_webhook(
    body: RawBody,
    request: Request,
    provider: Annotated[str, Path(max_length=32, pattern="^[a-z0-9_-]+$")],
) -> dict[str, str]:
    # On the event loop with the api's own autocommit pool: the digest is microseconds of
    # work and the insert one statement, so no threadpool hop and no BEGIN/COMMIT round trips.
    services: Services = request.app.state.services
    try:
        event = verify_webhook(services.root, provider, body, request.headers)
    except kyc_errors.WebhookRejected as exc:
        raise ApiError(401, exc.code, exc.message) from None
    except kyc_errors.NotFound as exc:
        raise ApiError(404, exc.code, exc.message, {"resource": "provider"}) from None
    except kyc_errors.InvalidEvent as exc:
        raise ApiError(400, exc.code, exc.message) from None
    async with services.pool.connection() as conn:
        received = await store_webhook(conn, event)
    return {
        "status": "duplicate" if received.duplicate else "stored",
        "event_id": received.event_id,
    }


@router.post(
    "/psp/{provider}",
    summary="A PSP's webhook (card-sim: Stripe-Signature; ewallet-sim: X-Ewallet-Signature; "
    "crypto-sim: X-Crypto-Signature)",
    responses={
        400: {"model": ErrorBody, "description": "Signature missing, malformed, not matching "
              "the body, or older than 300 s; the delivery is kept for review"},
        404: {"model": ErrorBody, "description": "No such provider"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["id", "type"],
            "properties": {"id": {"type": "string"}, "type": {"type": "string"},
                           "data": {"type": "object"}}}}}},
        "parameters": [
            {"name": "Stripe-Signature", "in": "header", "required": False,
             "schema": {"type": "string"},
             "description": "card-sim: t=<unix time>,v1=<HMAC-SHA256 hex>"},
            {"name": "X-Ewallet-Signature", "in": "header", "required": False,
             "schema": {"type": "string"}, "description": "ewallet-sim: sha256=<HMAC-SHA256 "
             "hex of '<event id>.<timestamp>.' + body>, with X-Ewallet-Event-Id and "
             "X-Ewallet-Timestamp"},
            {"name": "X-Crypto-Signature", "in": "header", "required": False,
             "schema": {"type": "string"}, "description": "crypto-sim: HMAC-SHA256 hex of the "
             "body (signed at its timestamp field)"},
        ],
    },
)  # fmt: skip
async def psp_webhook(
    body: RawBody,
    request: Request,
    provider: Annotated[str, Path(max_length=32, pattern="^[a-z0-9_-]+$")],
) -> dict[str, str]:
    services: Services = request.app.state.services
    try:
        event_id, event_type, signature = payment_intake.verify(
            services.psps, provider, body, request.headers
        )
    except payment_intake.WebhookRefused as exc:
        async with services.pool.connection() as conn:
            await payment_intake.keep_refusal(conn, exc.refusal)
        raise ApiError(400, f"signature_{exc.refusal.reason}", str(exc)) from None
    async with services.pool.connection() as conn:
        received = await payment_intake.store(conn, provider, event_id, event_type, body,
                                              signature)  # fmt: skip
    return {"status": "duplicate" if received.duplicate else "stored", "event_id": event_id}
