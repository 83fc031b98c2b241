"""KYC documents: checked (PDF, JPEG or PNG by their first bytes, never by the name or the
declared type; no larger than ``documents_max_bytes``), stored by content (``<folder>/<sha256>``,
readable by the owner only) in a folder or an S3-compatible bucket
(:mod:`backoffice.kyc.document_store`), and recorded with their SHA-256 on the client's open
application.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from backoffice.audit import Actor, record
from backoffice.kyc import applications, levels
from backoffice.kyc.document_store import ContentMissing, StoreUnavailable, document_store
from backoffice.kyc.errors import DocumentRefused, DocumentsUnavailable, NotFound
from brokerstack.settings import Settings

MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
KINDS = frozenset({*(k for kinds in levels.REQUIREMENTS.values() for k in kinds), "other"})
SIDES = frozenset({"front", "back"})
# the sides each kind of the requirements shows (a selfie or a bill has none); "other": any
KIND_SIDES: dict[str, frozenset[str | None]] = {
    kind: frozenset(sides)
    for kinds in levels.REQUIREMENTS.values()
    for kind, sides in kinds.items()
}
# the documents reviewed again (and re-uploaded) while their application is still open
_UPLOADABLE = ("created", "resubmission_requested")


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    application_id: int
    kind: str
    side: str | None
    sha256: str
    content_type: str
    size_bytes: int
    storage_ref: str


def content_type_of(data: bytes) -> str:
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    raise DocumentRefused("only PDF, JPEG and PNG documents are taken", field="data")


def content_lock(conn: psycopg.Connection[Any], digest: str) -> None:
    """Hold the content ``digest`` until the transaction ends: an upload of the same bytes and
    the purge removing them take turns (the purge sees the upload's row, or the upload
    writes the bytes again)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (f"kyc:{digest}",))


def read_content(settings: Settings, storage_ref: str) -> bytes:
    """The bytes of a stored document (:class:`ContentMissing` if they are gone)."""
    return document_store(settings).get(storage_ref.removeprefix("sha256:"))


def store_document(
    conn: psycopg.Connection[Any],
    settings: Settings,
    client_id: int,
    kind: str,
    side: str | None,
    filename: str,
    data: bytes,
    country: str | None = None,
    expires_on: date | None = None,
) -> StoredDocument:
    """Check and keep one document side on the client's open application (opened if none)."""
    if kind not in KINDS:
        raise DocumentRefused(f"unknown document kind {kind!r}", field="kind",
                              allowed=sorted(KINDS))  # fmt: skip
    if side is not None and side not in SIDES:
        raise DocumentRefused(f"unknown side {side!r}", field="side", allowed=sorted(SIDES))
    sides = KIND_SIDES.get(kind)
    if sides is not None and side not in sides:
        named = sorted(s for s in sides if s is not None)
        shown = f"shows the side {' or '.join(named)}" if named else "has no side"
        raise DocumentRefused(f"a {kind} {shown}", field="side", allowed=named)
    if country is not None and not (len(country) == 2 and country.isascii() and country.isupper()):
        raise DocumentRefused("country is an ISO 3166 alpha-2 code", field="country")
    limit = settings.backoffice.documents_max_bytes
    if not data or len(data) > limit:
        raise DocumentRefused(f"a document has 1 to {limit} bytes", field="data", limit=limit)
    content_type = content_type_of(data)
    application = applications.open_application(conn, client_id)
    if application.status not in _UPLOADABLE:
        raise DocumentRefused(f"the application is {application.status}: wait for its review")
    digest = hashlib.sha256(data).hexdigest()
    content_lock(conn, digest)
    try:
        document_store(settings).put(digest, data)
    except StoreUnavailable as exc:
        raise DocumentsUnavailable(f"documents cannot be stored now: {exc}") from exc
    storage_ref = f"sha256:{digest}"
    row = conn.execute(
        """INSERT INTO kyc_documents (application_id, kind, country, storage_ref, sha256, side,
                                      filename, content_type, size_bytes, expires_on)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (application.id, kind, country, storage_ref, bytes.fromhex(digest), side,
         filename[:255], content_type, len(data), expires_on),
    ).fetchone()  # fmt: skip
    assert row is not None
    stored = StoredDocument(int(row[0]), application.id, kind, side, digest, content_type,
                            len(data), storage_ref)  # fmt: skip
    after = {"kind": kind, "side": side, "sha256": digest, "size_bytes": len(data),
             "content_type": content_type, "expires_on": expires_on}  # fmt: skip
    record(conn, Actor.client(client_id), "kyc.document.uploaded", "kyc_document", stored.id,
           None, after)  # fmt: skip
    applications.timeline(conn, client_id, "kyc.document_uploaded", Actor.client(client_id),
                          {"document_id": stored.id, "kind": kind, "side": side})  # fmt: skip
    return stored


@dataclass(frozen=True, slots=True)
class DocumentContent:
    id: int
    application_id: int
    kind: str
    filename: str
    content_type: str
    data: bytes


def read_document(
    conn: psycopg.Connection[Any],
    settings: Settings,
    actor: Actor,
    brand_ids: Collection[int],
    document_id: int,
) -> DocumentContent:
    """A document of a client of the officer's brands, with its bytes (checked against the
    SHA-256 kept at upload: a stored file that changed is refused, not served). Who read
    which document is audited."""
    row = conn.execute(
        """SELECT d.id, d.application_id, d.kind, d.filename, d.content_type, d.storage_ref,
                  d.sha256
           FROM kyc_documents d JOIN kyc_applications a ON a.id = d.application_id
           JOIN clients c ON c.id = a.client_id
           WHERE d.id = %s AND c.brand_id = ANY(%s)""",
        (document_id, list(brand_ids)),
    ).fetchone()
    if row is None:
        raise NotFound(f"document {document_id} not found")
    try:
        data = read_content(settings, row[5])
    except ContentMissing:
        raise NotFound(f"document {document_id} is no longer stored") from None
    except StoreUnavailable as exc:
        raise DocumentsUnavailable(f"documents cannot be read now: {exc}") from exc
    if hashlib.sha256(data).digest() != bytes(row[6]):
        raise DocumentRefused(f"document {document_id} does not match its recorded SHA-256")
    record(conn, actor, "kyc.document.viewed", "kyc_document", row[0], None,
           {"application_id": row[1], "sha256": bytes(row[6]).hex()})  # fmt: skip
    return DocumentContent(int(row[0]), int(row[1]), row[2], row[3], row[4], data)
