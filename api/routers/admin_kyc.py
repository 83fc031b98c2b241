"""The KYC officers' review queue: applications waiting, one application with its documents
and decisions, a document's content, and the decisions — approve, reject with a reason (for
good, or asking the client to try again), request documents. Where the application's level
asks for a second approver, a decision stays pending (``pending`` true) until a different
officer makes the same one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas import ID_MAX
from api.staff_areas import brand_ids
from api.staff_auth import StaffPrincipal, require
from backoffice.kyc import documents, review

router = APIRouter(prefix="/v1/admin/kyc", tags=["admin: kyc"], responses=ERROR_RESPONSES)

Reader = Annotated[StaffPrincipal, require("kyc.read")]
Officer = Annotated[StaffPrincipal, require("kyc.decide")]
ApplicationId = Annotated[int, Path(ge=1, le=ID_MAX, description="KYC application id.")]
DocumentId = Annotated[int, Path(ge=1, le=ID_MAX, description="KYC document id.")]
TEXT = r"^[^\x00-\x1f]*[^\x00-\x20][^\x00-\x1f]*$"  # one line of text, not blank
Reason = Annotated[str, Field(min_length=1, max_length=1000, pattern=TEXT)]
DocumentNeeded = Literal[
    "identity",
    "selfie",
    "proof_of_address",
    "passport",
    "id_card",
    "driving_licence",
    "residence_permit",
]


class QueueItemOut(BaseModel):
    application_id: int
    client_id: int
    brand_id: int
    client_name: str
    email: str
    country: str
    status: str
    target_level: int
    documents: int
    waiting_since: datetime
    pending_decision: str | None = Field(description="A decision waiting for a second officer.")
    pending_decided_by: int | None


class DocumentOut(BaseModel):
    id: int
    kind: str
    side: str | None
    country: str | None
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: str
    expires_on: date | None
    uploaded_at: datetime


class DecisionOut(BaseModel):
    id: int
    decision: str
    reason: str | None
    documents: list[str]
    final: bool
    decided_by: int
    decided_at: datetime
    status: str = Field(description="pending (waiting for a second officer), applied, overruled")
    confirmed_by: int | None
    confirmed_at: datetime | None


class ApplicationOut(BaseModel):
    application_id: int
    client_id: int
    brand_id: int
    client_name: str
    email: str
    country: str
    client_level: int
    target_level: int
    status: str
    reject_labels: list[str]
    decision_reason: str | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    documents: list[DocumentOut]
    decisions: list[DecisionOut]


class DecidedOut(BaseModel):
    application_id: int
    decision_id: int
    status: str = Field(description="The application's status after the decision.")
    pending: bool = Field(description="True: the decision waits for a second officer.")


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    final: bool = Field(
        default=True, description="True: rejected for good; false: the client may resubmit."
    )


class DocumentsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentNeeded] = Field(
        min_length=1, max_length=10, description="Requirements or document kinds."
    )
    reason: Reason


def _decided(decided: review.Decided) -> DecidedOut:
    return DecidedOut.model_validate(decided, from_attributes=True)


@router.get(
    "/applications",
    response_model=list[QueueItemOut],
    summary="Applications waiting for a review or a second officer, oldest first",
)
def queue(
    services: ServicesDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QueueItemOut]:
    with services.db.connection() as conn:
        items = review.waiting_applications(conn, brand_ids(conn, principal), limit)
    return [QueueItemOut.model_validate(i, from_attributes=True) for i in items]


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationOut,
    summary="One application with its documents and decisions",
)
def application(
    services: ServicesDep, principal: Reader, application_id: ApplicationId
) -> ApplicationOut:
    with services.db.connection() as conn:
        detail = review.application_detail(conn, brand_ids(conn, principal), application_id)
    return ApplicationOut.model_validate(detail, from_attributes=True)


@router.get(
    "/documents/{document_id}/content",
    response_class=Response,
    summary="A document's file (audited)",
    responses={
        200: {
            "description": "The file as uploaded.",
            "content": {t: {} for t in ("application/pdf", "image/jpeg", "image/png")},
        }
    },
)
def document_content(services: ServicesDep, principal: Reader, document_id: DocumentId) -> Response:
    with services.db.connection() as conn:
        document = documents.read_document(
            conn, services.root, principal.actor, brand_ids(conn, principal), document_id
        )
    filename = f"document-{document.id}-{document.kind}"
    return Response(
        document.data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/applications/{application_id}/approve",
    response_model=DecidedOut,
    summary="Approve (raises the client's level once applied)",
)
def approve(
    services: ServicesDep, principal: Officer, application_id: ApplicationId, body: Approval
) -> DecidedOut:
    with services.db.connection() as conn:
        return _decided(
            review.approve(
                conn, principal.actor, application_id, brand_ids(conn, principal), body.reason
            )
        )


@router.post(
    "/applications/{application_id}/reject",
    response_model=DecidedOut,
    summary="Reject with a reason: for good, or asking the client to resubmit",
)
def reject(
    services: ServicesDep, principal: Officer, application_id: ApplicationId, body: Rejection
) -> DecidedOut:
    with services.db.connection() as conn:
        return _decided(
            review.reject(
                conn,
                principal.actor,
                application_id,
                brand_ids(conn, principal),
                body.reason,
                body.final,
            )
        )


@router.post(
    "/applications/{application_id}/request-documents",
    response_model=DecidedOut,
    summary="Ask the client for more documents",
)
def request_documents(
    services: ServicesDep,
    principal: Officer,
    application_id: ApplicationId,
    body: DocumentsRequest,
) -> DecidedOut:
    with services.db.connection() as conn:
        return _decided(
            review.request_documents(
                conn,
                principal.actor,
                application_id,
                brand_ids(conn, principal),
                list(body.documents),
                body.reason,
            )
        )
