"""The SMS provider's delivery reports (Twilio's StatusCallback): ``POST /v1/webhooks/sms/twilio``.

The body is read raw: the signature covers every form field the provider sends, not only the
ones we use. Verification and the state change are :func:`backoffice.comms.sms_status.
record_status`'s."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from api.deps import ServicesDep
from api.errors import ApiError, ErrorBody
from backoffice.comms.sms import STATUS_CALLBACK_PATH, status_callback_url
from backoffice.comms.sms_status import ForgedCallback, record_status

router = APIRouter(tags=["webhooks"])

_FORM = {
    "application/x-www-form-urlencoded": {
        "schema": {
            "type": "object",
            "properties": {
                "MessageSid": {"type": "string"},
                "MessageStatus": {"type": "string"},
                "AccountSid": {"type": "string"},
                "To": {"type": "string"},
                "From": {"type": "string"},
                "ErrorCode": {"type": "string"},
            },
            "required": ["MessageSid", "MessageStatus"],
        }
    }
}


class StatusReceived(BaseModel):
    outcome: Literal["applied", "unchanged", "unknown_message"]


async def _body(request: Request) -> bytes:
    return await request.body()


@router.post(
    STATUS_CALLBACK_PATH,
    summary="SMS delivery report (Twilio StatusCallback, signed)",
    openapi_extra={"requestBody": {"required": True, "content": _FORM}},
    responses={400: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
def twilio_status(
    services: ServicesDep,
    request: Request,
    body: Annotated[bytes, Depends(_body)],
    x_twilio_signature: Annotated[str | None, Header()] = None,
) -> StatusReceived:
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_body", "the body is not UTF-8 form data") from exc
    query = request.url.query
    url = status_callback_url(services.root) + (f"?{query}" if query else "")
    token = services.root.backoffice.sms_auth_token.get_secret_value()
    try:
        with services.db.connection() as conn:
            outcome = record_status(
                conn, url=url, params=params, signature=x_twilio_signature, auth_token=token
            )
    except ForgedCallback as exc:
        raise ApiError(403, "invalid_signature", str(exc)) from exc
    return StatusReceived(outcome=outcome)
