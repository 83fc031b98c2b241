"""A stand-in SMS provider speaking Twilio's Messages API (``brokerstack run sms-simulator``;
``brokerstack up`` starts it when no SMS URL is configured).

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form: To, From, Body,
  StatusCallback; basic auth AccountSid:AuthToken) answers 201 with the message resource
  (``sid`` SM + 32 hex, ``status`` queued), or Twilio's error body: 401 code 20003 for bad
  credentials, 400 code 21211 for a To that is not E.164, 21212 for such a From, 21602 for an
  empty Body;
- ``GET .../Messages.json`` lists what it took (``{"messages": [...]}``, newest first), ``GET
  .../Messages/{Sid}.json`` shows one;
- each message then moves to sent and to delivered — or undelivered with ErrorCode 30003 when
  To is one of the ``undeliverable`` numbers — and each move is POSTed to its StatusCallback,
  signed with X-Twilio-Signature like Twilio's. A callback that fails is logged, not retried
  (Twilio does not retry status callbacks either).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security.utils import get_authorization_scheme_param

from backoffice.comms.rules import E164
from backoffice.comms.sms import API_VERSION, twilio_signature
from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings

log = logging.getLogger(__name__)

# The simulator's unreachable handset: messages to it end undelivered (Twilio error 30003).
UNDELIVERABLE = frozenset({"+15005550009"})


@dataclass
class SimulatedProvider:
    account_sid: str
    auth_token: str
    undeliverable: frozenset[str] = UNDELIVERABLE
    step_seconds: float = 0.2  # between queued, sent and the final status
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with httpx.AsyncClient(timeout=10) as client:
                app.state.client = client
                yield
            for task in self._tasks:
                task.cancel()

        app = FastAPI(title="SMS provider simulator (Twilio Messages API)", lifespan=lifespan)
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"

        @app.post(f"{base}/Messages.json")
        async def create(account_sid: str, request: Request) -> JSONResponse:
            if not self._authorised(account_sid, request):
                return _error(401, 20003, "Authenticate")
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
            if not E164.match(to):
                return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if not E164.match(sender):
                return _error(
                    400,
                    21212,
                    f"The 'From' number {sender} is not a valid phone "
                    "number, shortcode, or alphanumeric sender ID.",
                )
            if not body.strip():
                return _error(400, 21602, "Message body is required.")
            message = self._resource(account_sid, to, sender, body)
            self.messages[message["sid"]] = message
            callback = form.get("StatusCallback")
            if callback:
                task = asyncio.create_task(
                    self._progress(request.app.state.client, message, callback)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return JSONResponse(message, status_code=201)

        @app.get(f"{base}/Messages.json")
        async def listing(account_sid: str, request: Request) -> JSONResponse:
            if not self._authorised(account_sid, request):
                return _error(401, 20003, "Authenticate")
            found = [m for m in self.messages.values() if m["account_sid"] == account_sid]
            return JSONResponse({"messages": found[::-1]})

        @app.get(f"{base}/Messages/{{sid}}.json")
        async def one(account_sid: str, sid: str, request: Request) -> JSONResponse:
            if not self._authorised(account_sid, request):
                return _error(401, 20003, "Authenticate")
            message = self.messages.get(sid)
            if message is None or message["account_sid"] != account_sid:
                return _error(
                    404, 20404, f"The requested resource {request.url.path} was not found"
                )
            return JSONResponse(message)

        return app

    def _authorised(self, account_sid: str, request: Request) -> bool:
        scheme, credentials = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "basic" or account_sid != self.account_sid:
            return False
        pair = f"{self.account_sid}:{self.auth_token}".encode()
        return secrets.compare_digest(credentials, base64.b64encode(pair).decode())

    def _resource(self, account_sid: str, to: str, sender: str, body: str) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "sid": sid,
            "account_sid": account_sid,
            "to": to,
            "from": sender,
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "num_segments": str(len(body) // 153 + 1),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
        }

    async def _progress(
        self, client: httpx.AsyncClient, message: dict[str, Any], callback: str
    ) -> None:
        final = "undelivered" if message["to"] in self.undeliverable else "delivered"
        for status in ("sent", final):
            await asyncio.sleep(self.step_seconds)
            message["status"] = status
            message["date_updated"] = format_datetime(datetime.now(UTC), usegmt=True)
            params = {
                "AccountSid": message["account_sid"],
                "ApiVersion": API_VERSION,
                "From": message["from"],
                "To": message["to"],
                "MessageSid": message["sid"],
                "SmsSid": message["sid"],
                "MessageStatus": status,
                "SmsStatus": status,
            }
            if status == "undelivered":
                params["ErrorCode"] = "30003"
                message["error_code"], message["error_message"] = 30003, "Unreachable handset"
            signature = twilio_signature(callback, params.items(), self.auth_token)
            try:
                response = await client.post(
                    callback, data=params, headers={"X-Twilio-Signature": signature}
                )
                if response.status_code >= 300:
                    log.warning("status callback %s answered %d", callback, response.status_code)
            except httpx.HTTPError as exc:
                log.warning("status callback %s failed: %s", callback, exc)


def _error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return JSONResponse(body, status_code=status)


def serve(
    settings: Settings, undeliverable: frozenset[str] = UNDELIVERABLE, ops_port: int | None = None
) -> int:
    """Run the simulator on BROKERSTACK_BACKOFFICE_SMS_SIMULATOR_PORT until SIGTERM (uvicorn
    stops on it); ready on its ops port once it listens."""
    config = settings.backoffice
    provider = SimulatedProvider(
        config.sms_account_sid, config.sms_auth_token.get_secret_value(), undeliverable
    )
    server = uvicorn.Server(
        uvicorn.Config(
            provider.app(),
            host=settings.host,
            port=config.sms_simulator_port,
            log_config=None,
            access_log=False,
        )
    )
    readiness = Readiness(checks={"http": lambda: None if server.started else "starting"})
    ops = OpsServer(settings.host, ops_port or config.sms_simulator_ops_port, readiness).start()
    try:
        server.run()
    finally:
        ops.stop()
    return 0
