"""The client sends their application for review: the provider gets an applicant (our client
id as its external user id, once), every document side not sent yet, and a request to check.

One applicant serves every level: the client's next application (proof of address after
identity) moves the applicant the earlier one created to the new level instead of creating a
second (which the provider refuses), and the webhooks name the level they are about.

The provider's calls are made inside the caller's transaction, before the status moves to
submitted: if one fails nothing is recorded as sent, and a retry sends what is still missing
(each document keeps the provider's id once uploaded, the application its applicant id).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from backoffice.audit import Actor
from backoffice.kyc import applications, documents, levels, states
from backoffice.kyc.document_store import ContentMissing, StoreUnavailable
from backoffice.kyc.errors import DecisionRefused, DocumentsUnavailable, ProviderError
from backoffice.kyc.provider import KycProvider
from brokerstack.settings import Settings

log = logging.getLogger(__name__)


def submit_application(
    conn: psycopg.Connection[Any], settings: Settings, provider: KycProvider, client_id: int
) -> applications.Application:
    application = applications.open_application(conn, client_id)
    status = states.resubmit(application.status)
    unsent = conn.execute(
        """SELECT id, kind, side, country, filename, content_type, storage_ref
           FROM kyc_documents
           WHERE application_id = %s AND provider_document_id IS NULL AND status <> 'rejected'
           ORDER BY id""",
        (application.id,),
    ).fetchall()
    if not unsent and application.provider_applicant_id is None:
        raise DecisionRefused("upload the documents first", application_id=application.id)
    applicant_id = application.provider_applicant_id
    if applicant_id is None:
        level = levels.level_of(conn, application.brand_id, application.target_level)
        applicant_id = _applicant_at_level(conn, provider, application, level.name)
        conn.execute(
            """UPDATE kyc_applications SET provider_applicant_id = %s, provider_level_name = %s
               WHERE id = %s""",
            (applicant_id, level.name, application.id),
        )
    for document_id, kind, side, country, filename, content_type, storage_ref in unsent:
        try:
            content = documents.read_content(settings, storage_ref)
        except ContentMissing:
            raise DecisionRefused(
                f"document {document_id} is no longer stored: upload it again",
                document_id=document_id,
            ) from None
        except StoreUnavailable as exc:
            raise DocumentsUnavailable(f"documents cannot be read now: {exc}") from exc
        sent = provider.add_document(
            applicant_id, kind, side, country, filename or f"{kind}.bin", content, content_type
        )
        conn.execute(
            "UPDATE kyc_documents SET provider_document_id = %s WHERE id = %s",
            (sent, document_id),
        )
    provider.request_check(applicant_id)
    applications.move(conn, Actor.client(client_id), application, status, None)
    found = applications.load(conn, "a.id = %s", (application.id,))
    assert found is not None
    return found


def _applicant_at_level(
    conn: psycopg.Connection[Any],
    provider: KycProvider,
    application: applications.Application,
    level_name: str,
) -> str:
    """The client's applicant at the provider, moved to ``level_name`` (created the first
    time, or when the provider no longer holds the one we know; found at the provider when an
    earlier call created it but its answer was lost)."""
    row = conn.execute(
        """SELECT provider_applicant_id FROM kyc_applications
           WHERE client_id = %s AND provider = %s AND provider_applicant_id IS NOT NULL
           ORDER BY id DESC LIMIT 1""",
        (application.client_id, application.provider),
    ).fetchone()
    external = str(application.client_id)
    if row is not None:
        try:
            provider.move_to_level(str(row[0]), level_name)
            return str(row[0])
        except ProviderError as exc:
            if exc.details.get("status") != 404:
                raise
        # the provider no longer holds it (deleted there, or its sandbox reset): a new one
        log.warning("KYC applicant %s of client %s is gone at the provider: creating another",
                    row[0], application.client_id)  # fmt: skip
    try:
        return provider.create_applicant(external, level_name).id
    except ProviderError as exc:
        if exc.details.get("status") != 409:
            raise
    found = provider.find_applicant(external)
    if found is None:
        raise ProviderError("the KYC provider holds an applicant it cannot find")
    if found.level_name != level_name:
        provider.move_to_level(found.id, level_name)
    return found.id
