"""The audit trail for staff: an entity's records, and one client's whole trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas import ID_MAX
from api.staff_auth import StaffPrincipal, require
from backoffice.audit import query

router = APIRouter(prefix="/v1/admin/audit", tags=["admin: audit"], responses=ERROR_RESPONSES)

Reader = Annotated[StaffPrincipal, require("audit.read")]
Exporter = Annotated[StaffPrincipal, require("audit.export")]


class AuditRecord(BaseModel):
    id: int
    chain_seq: int
    occurred_at: datetime
    actor_type: str
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str = Field(description="Hex SHA-256 of the previous record.")
    hash: str = Field(description="Hex SHA-256 over this record and prev_hash.")


def _out(entries: list[query.AuditEntry]) -> list[AuditRecord]:
    return [AuditRecord.model_validate(e, from_attributes=True) for e in entries]


@router.get("", response_model=list[AuditRecord], summary="An entity's audit records")
def entity_trail(
    services: ServicesDep,
    principal: Reader,
    entity_type: Annotated[str, Query(pattern=r"^[a-z][a-z_]{0,62}$")],
    entity_id: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[AuditRecord]:
    with services.db.connection() as conn:
        return _out(query.entity_trail(conn, principal.scope, entity_type, entity_id, limit))


@router.get("/clients/{client_id}", response_model=list[AuditRecord],
            summary="One client's full trail (client, accounts, KYC, payments)")  # fmt: skip
def client_trail(
    services: ServicesDep,
    principal: Exporter,
    client_id: Annotated[int, Path(ge=1, le=ID_MAX)],
) -> list[AuditRecord]:
    with services.db.connection() as conn:
        return _out(query.client_trail(conn, principal.scope, client_id))
