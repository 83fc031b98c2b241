"""The client's side of KYC: uploading a document side (checked, stored by content and
recorded by :func:`backoffice.kyc.documents.store_document`) and where the client stands —
the level reached, what it allows, the open application and the documents still missing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from backoffice.errors import Refused
from backoffice.kyc import documents, levels, submission
from backoffice.kyc.errors import DocumentRefused, KycError, NotFound, ProviderError
from backoffice.kyc.provider import KycProvider
from brokerstack.settings import Settings

log = logging.getLogger(__name__)


def refusal(exc: KycError) -> Refused:
    """A KYC refusal as the portal answers it (``details.source`` "backoffice")."""
    if isinstance(exc, DocumentRefused):
        field = str(exc.details.get("field", "file"))
        details = {
            "fields": [{"field": "file" if field == "data" else field, "in": "body",
                        "message": exc.message, "type": "value_error"}],
            "source": "backoffice",
            **{k: v for k, v in exc.details.items() if k != "field"},
        }  # fmt: skip
        return Refused("invalid", exc.code, exc.message, details)
    if exc.kind == "unavailable":
        # what failed is the operators' to read (logged); the client learns to try again
        log.warning("KYC refused a client's request, %s: %s", exc.code, exc.message)
        message = (
            "the verification service cannot be reached; try again in a minute"
            if isinstance(exc, ProviderError)
            else "documents cannot be stored right now; try again in a minute"
        )
        return Refused("unavailable", exc.code, message, {"source": "backoffice", "retry": True})
    if isinstance(exc, NotFound) and "not found" in exc.message:
        return Refused("not_found", exc.code, exc.message, {"source": "backoffice"})
    return Refused("conflict", exc.code, exc.message, {"source": "backoffice"})


def upload(
    conn: psycopg.Connection[Any],
    settings: Settings,
    client_id: int,
    kind: str,
    side: str | None,
    filename: str,
    data: bytes,
) -> documents.StoredDocument:
    try:
        return documents.store_document(conn, settings, client_id, kind, side, filename, data)
    except KycError as exc:
        raise refusal(exc) from exc


@dataclass(frozen=True, slots=True)
class KycStatus:
    standing: levels.Standing
    application_id: int | None
    application_status: str | None
    target_level: int | None


def status(conn: psycopg.Connection[Any], client_id: int) -> KycStatus:
    try:
        standing = levels.client_standing(conn, client_id)
    except KycError as exc:
        raise refusal(exc) from exc
    row = conn.execute(
        """SELECT id, status, target_level FROM kyc_applications WHERE client_id = %s
           ORDER BY id DESC LIMIT 1""",
        (client_id,),
    ).fetchone()
    application_id, application_status, target = row or (None, None, None)
    return KycStatus(standing, application_id, application_status, target)


def submit(conn: psycopg.Connection[Any], settings: Settings, client_id: int) -> KycStatus:
    """Send the client's application to the KYC provider once nothing is missing: its
    applicant, the documents not sent yet and a request to check (the answer comes back as the
    provider's webhooks). Refused, with what is missing, before then."""
    try:
        standing = levels.client_standing(conn, client_id)
        if standing.missing:
            needed = [m.requirement for m in standing.missing]
            raise Refused("conflict", "kyc_documents_missing",
                          f"upload these documents first: {', '.join(needed)}",
                          {"missing": needed, "source": "backoffice"})  # fmt: skip
        with KycProvider.from_settings(settings) as provider:
            submission.submit_application(conn, settings, provider, client_id)
    except KycError as exc:
        raise refusal(exc) from exc
    return status(conn, client_id)
