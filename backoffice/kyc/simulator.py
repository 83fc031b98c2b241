"""A stand-in for the KYC provider (``brokerstack run kyc-simulator``), speaking Sumsub's shape:
signed requests create applicants, take documents and start a check; the check answers with
webhooks to our endpoint — applicantCreated, applicantPending, then applicantReviewed.

The review's answer follows a rule: ``green`` (the demo stack's default: every check passes) or
``manual`` (the check waits for ``POST /_sim/applicants/{id}/review`` with the answer). Tests
steer it through ``/_sim``: the callback URL, duplicate deliveries, holding webhooks back and
releasing them in reverse order, and the log of delivery attempts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from backoffice.kyc import signatures
from backoffice.kyc.simulator_webhooks import DeliveryPolicy, Webhooks
from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings

Rule = Literal["green", "manual"]
WEBHOOK_PATH = "/v1/webhooks/kyc/sumsub"


@dataclass(frozen=True)
class SimulatorOptions:
    port: int
    callback_url: str
    rule: Rule = "green"


def default_callback(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.api_port}{WEBHOOK_PATH}"


class Review(BaseModel):
    reviewAnswer: Literal["GREEN", "RED"]
    reviewRejectType: Literal["RETRY", "FINAL"] | None = None
    rejectLabels: list[str] = []
    moderationComment: str | None = None


class Control(BaseModel):
    callbackUrl: str | None = None
    duplicates: int | None = None
    hold: bool | None = None
    rule: Rule | None = None


class Refused(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.description = description


def create_simulator(settings: Settings, options: SimulatorOptions) -> FastAPI:
    config = settings.backoffice
    app_token = config.kyc_app_token.get_secret_value()
    secret_key = config.kyc_secret_key.get_secret_value()
    webhooks = Webhooks(
        config.kyc_webhook_secret.get_secret_value(), DeliveryPolicy(options.callback_url)
    )
    applicants: dict[str, dict[str, Any]] = {}
    rule: dict[str, Rule] = {"rule": options.rule}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        webhooks.start()
        try:
            yield
        finally:
            webhooks.stop()

    app = FastAPI(title="KYC provider simulator", lifespan=lifespan)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        body = {"description": exc.description, "code": exc.status, "correlationId": "sim"}
        return JSONResponse(body, status_code=exc.status)

    async def verified(request: Request) -> bytes:
        """The request's body, once its app token and signature check out."""
        body = await request.body()
        headers = request.headers
        if headers.get(signatures.APP_TOKEN_HEADER) != app_token:
            raise Refused(401, "App token invalid")
        try:
            ts = int(headers.get(signatures.TIMESTAMP_HEADER, ""))
        except ValueError:
            raise Refused(401, "Request timestamp missing") from None
        if abs(time.time() - ts) > signatures.MAX_CLOCK_SKEW_SECONDS:
            raise Refused(401, "Request timestamp is too far from the current time")
        target = request.scope["raw_path"].decode()
        if request.scope["query_string"]:
            target += "?" + request.scope["query_string"].decode()
        signature = headers.get(signatures.SIGNATURE_HEADER, "")
        if not signatures.request_signed(secret_key, ts, request.method, target, body, signature):
            raise Refused(401, "Request signature mismatch")
        return body

    def applicant(applicant_id: str) -> dict[str, Any]:
        found = applicants.get(applicant_id)
        if found is None:
            raise Refused(404, f"Applicant {applicant_id} not found")
        return found

    def review(record: dict[str, Any], result: Review) -> None:
        answer = result.model_dump(exclude_none=True)
        record.update(reviewStatus="completed", reviewResult=answer)
        webhooks.emit("applicantReviewed", record, reviewStatus="completed", reviewResult=answer)

    @app.post("/resources/applicants")
    async def create_applicant(request: Request, levelName: str) -> dict[str, Any]:
        body = json.loads(await verified(request) or b"{}")
        external = body.get("externalUserId")
        if not isinstance(external, str) or not external:
            raise Refused(400, "externalUserId is required")
        for record in applicants.values():
            if record["externalUserId"] == external:
                raise Refused(409, f"Applicant with external user id {external} already exists")
        record = {
            "id": uuid.uuid4().hex[:24],
            "inspectionId": uuid.uuid4().hex[:24],
            "externalUserId": external,
            "levelName": levelName,
            "createdAt": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "reviewStatus": "init",
            "documents": [],
        }
        applicants[record["id"]] = record
        webhooks.emit("applicantCreated", record, reviewStatus="init")
        return {k: v for k, v in record.items() if k != "documents"}

    @app.get("/resources/applicants/-;externalUserId={external}/one")
    async def find_applicant(request: Request, external: str) -> dict[str, Any]:
        await verified(request)
        for record in applicants.values():
            if record["externalUserId"] == external:
                return {k: v for k, v in record.items() if k != "documents"}
        raise Refused(404, f"Applicant with external user id {external} not found")

    @app.post("/resources/applicants/{applicant_id}/moveToLevel")
    async def move_to_level(request: Request, applicant_id: str, name: str) -> dict[str, Any]:
        await verified(request)
        record = applicant(applicant_id)
        record.update(levelName=name, reviewStatus="init", reviewResult=None)
        return {k: v for k, v in record.items() if k != "documents"}

    @app.post("/resources/applicants/{applicant_id}/info/idDoc")
    async def add_document(request: Request, applicant_id: str) -> dict[str, Any]:
        await verified(request)
        record = applicant(applicant_id)
        form = await request.form()
        metadata, content = form.get("metadata"), form.get("content")
        if not isinstance(metadata, str) or not isinstance(content, UploadFile):
            raise Refused(400, "metadata and content are required")
        document = {**json.loads(metadata), "imageId": uuid.uuid4().hex[:12],
                    "size": len(await content.read()), "fileName": content.filename}  # fmt: skip
        record["documents"].append(document)
        return document

    @app.post("/resources/applicants/{applicant_id}/status/pending")
    async def request_check(request: Request, applicant_id: str) -> dict[str, Any]:
        await verified(request)
        record = applicant(applicant_id)
        if not record["documents"]:
            raise Refused(400, "No documents uploaded")
        record.update(reviewStatus="pending", reviewResult=None)
        webhooks.emit("applicantPending", record, reviewStatus="pending")
        if rule["rule"] == "green":
            review(record, Review(reviewAnswer="GREEN"))
        return {"ok": 1}

    @app.get("/resources/applicants/{applicant_id}/status")
    async def status(request: Request, applicant_id: str) -> dict[str, Any]:
        await verified(request)
        record = applicant(applicant_id)
        return {"reviewStatus": record["reviewStatus"], "reviewResult": record.get("reviewResult")}

    @app.post("/_sim/applicants/{applicant_id}/review")
    async def decide(applicant_id: str, result: Review) -> dict[str, Any]:
        if result.reviewAnswer == "RED" and result.reviewRejectType is None:
            raise Refused(400, "a RED answer needs reviewRejectType RETRY or FINAL")
        review(applicant(applicant_id), result)
        return {"ok": 1}

    @app.get("/_sim/applicants/{applicant_id}")
    async def show(applicant_id: str) -> dict[str, Any]:
        return applicant(applicant_id)

    @app.delete("/_sim/applicants/{applicant_id}")
    async def forget(applicant_id: str) -> dict[str, Any]:
        """The provider no longer holds the applicant (deleted on its side, a sandbox reset)."""
        applicants.pop(applicant(applicant_id)["id"])
        return {"ok": 1}

    @app.post("/_sim/config")
    async def configure(control: Control) -> dict[str, Any]:
        policy = webhooks.policy
        if control.callbackUrl is not None:
            policy.callback_url = control.callbackUrl
        if control.duplicates is not None:
            policy.duplicates = max(control.duplicates, 1)
        if control.hold is not None:
            policy.hold = control.hold
        if control.rule is not None:
            rule["rule"] = control.rule
        return {"callbackUrl": policy.callback_url, "duplicates": policy.duplicates,
                "hold": policy.hold, "rule": rule["rule"]}  # fmt: skip

    @app.post("/_sim/release")
    async def release(order: Literal["sent", "reverse"] = "sent") -> dict[str, int]:
        return {"released": webhooks.release(order)}

    @app.get("/_sim/deliveries")
    async def deliveries() -> dict[str, Any]:
        return {"idle": webhooks.idle(), "attempts": list(webhooks.log_entries)}

    return app


def serve(settings: Settings, options: SimulatorOptions, ops_port: int | None = None) -> int:
    """Serve until SIGTERM or SIGINT, with ``/health`` and ``/ready`` on its ops port."""
    app = create_simulator(settings, options)
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=options.port, log_level="warning")
    )
    readiness = Readiness(checks={"http": lambda: None if server.started else "starting"})
    port = ops_port or settings.backoffice.kyc_simulator_ops_port
    ops = OpsServer(settings.host, port, readiness).start()
    try:
        server.run()
    finally:
        ops.stop()
    return 0
