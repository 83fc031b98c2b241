"""Finance's reconciliation (``/v1/admin/reconciliation``): import a PSP's settlement file,
work the exception queue, resolve an exception with a reason. Thin: each route calls one
:mod:`backoffice.reconciliation` function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas import ID_MAX
from api.staff_auth import StaffPrincipal, require
from backoffice.reconciliation import exceptions, settlements, statements

router = APIRouter(prefix="/v1/admin/reconciliation", tags=["admin: reconciliation"],
                   responses=ERROR_RESPONSES)  # fmt: skip
Reader = Annotated[StaffPrincipal, require("payments.read")]
Reconciler = Annotated[StaffPrincipal, require("payments.approve")]
ExceptionId = Annotated[int, Path(ge=1, le=ID_MAX)]
Kind = Literal["missing_at_psp", "missing_here", "amount_differs", "currency_differs",
               "status_differs"]  # fmt: skip


class SettlementFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9-]+$")
    filename: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/\\]+$")
    content: str = Field(max_length=settlements.MAX_BYTES, description="the file's text (CSV)")


class StatementFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="the brand whose client-money account the statement is of",
    )

    filename: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/\\]+$")
    content: str = Field(max_length=settlements.MAX_BYTES,
                         description="the statement's text: CAMT.053 XML or CSV")  # fmt: skip


class StatementImportOut(BaseModel):
    file_id: int
    format: str
    sha256: str
    lines: int
    credited: int = Field(description="bank-wire deposits its credits paid")
    exceptions: int = Field(description="new exceptions this import found")
    already_imported: bool


class ImportOut(BaseModel):
    file_id: int
    provider: str
    filename: str
    sha256: str
    rows: int
    exceptions: int = Field(description="new exceptions this import found")
    already_imported: bool


class ExceptionOut(BaseModel):
    exception_id: int
    kind: str
    provider: str
    file_id: int
    brand_id: int | None
    payment_id: int | None
    source_id: str | None
    ours: dict[str, Any]
    theirs: dict[str, Any]
    status: str
    resolution: str | None
    resolved_by: int | None
    resolved_at: datetime | None
    created_at: datetime


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00-\x08\x0b-\x1f]*$")


def _out(found: exceptions.ReconException) -> ExceptionOut:
    return ExceptionOut(exception_id=found.id, **{k: getattr(found, k) for k in (
        "kind", "provider", "file_id", "brand_id", "payment_id", "source_id", "ours", "theirs",
        "status", "resolution", "resolved_by", "resolved_at", "created_at")})  # fmt: skip


@router.post("/settlements", response_model=ImportOut, status_code=status.HTTP_201_CREATED,
             summary="Import a PSP's settlement file (once by SHA-256) and match it")  # fmt: skip
def import_settlement(
    services: ServicesDep, principal: Reconciler, body: SettlementFile
) -> ImportOut:
    with services.db.connection() as conn:
        done = settlements.import_settlement(conn, principal.actor, body.provider,
                                             body.filename, body.content.encode())  # fmt: skip
    return ImportOut(file_id=done.file_id, provider=done.provider, filename=done.filename,
                     sha256=done.sha256, rows=done.rows, exceptions=done.exceptions,
                     already_imported=done.already)  # fmt: skip


@router.post(
    "/statements",
    response_model=StatementImportOut,
    status_code=status.HTTP_201_CREATED,
    summary="Import a bank statement (once by SHA-256): its credits pay bank wires",
)
def import_statement(
    services: ServicesDep, principal: Reconciler, body: StatementFile
) -> StatementImportOut:
    with services.db.connection() as conn:
        done = statements.import_statement(conn, principal.actor, principal.scope, body.brand,
                                           body.filename, body.content.encode())  # fmt: skip
    return StatementImportOut(
        file_id=done.file_id,
        format=done.format,
        sha256=done.sha256,
        lines=done.lines,
        credited=done.credited,
        exceptions=done.exceptions,
        already_imported=done.already,
    )


@router.get("/exceptions", response_model=list[ExceptionOut],
            summary="The exception queue, oldest first")  # fmt: skip
def exception_queue(
    services: ServicesDep,
    principal: Reader,
    state: Annotated[Literal["open", "resolved"] | None, Query(alias="status")] = "open",
    kind: Kind | None = None,
    provider: Annotated[str | None, Query(max_length=50)] = None,
) -> list[ExceptionOut]:
    with services.db.connection() as conn:
        found = exceptions.queue(conn, principal.scope, state, kind, provider)
    return [_out(e) for e in found]


@router.post("/exceptions/{exception_id}/resolve", response_model=ExceptionOut,
             summary="Resolve an exception with a reason (once)")  # fmt: skip
def resolve_exception(
    services: ServicesDep, principal: Reconciler, exception_id: ExceptionId, body: Resolution
) -> ExceptionOut:
    with services.db.connection() as conn:
        return _out(exceptions.resolve(conn, principal.actor, principal.scope, exception_id,
                                       body.reason))  # fmt: skip
