"""The compliance case queue: sanctions and PEP matches and monitoring alerts, worked by
compliance staff — assign (an open case goes under review), notes, and the decision (clear,
escalate to the MLRO, report). Every change is audited and on the client's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas import ID_MAX
from api.staff_areas import brand_ids
from api.staff_auth import StaffPrincipal, require
from backoffice.aml import cases

# in a body the OpenAPI bound is a float: keep it one a float holds exactly
BODY_ID_MAX = 2**53

router = APIRouter(prefix="/v1/admin/aml", tags=["admin: aml"], responses=ERROR_RESPONSES)

Reader = Annotated[StaffPrincipal, require("aml.read")]
Manager = Annotated[StaffPrincipal, require("aml.manage")]
CaseId = Annotated[int, Path(ge=1, le=ID_MAX, description="AML case id.")]
Status = Literal["open", "under_review", "cleared", "escalated", "reported"]
Kind = Literal["sanctions_hit", "pep", "monitoring_alert"]
TEXT = r"^[^\x00-\x1f]*[^\x00-\x20][^\x00-\x1f]*$"  # one line, not blank
NOTE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*[^\x00-\x20][^\x00-\x08\x0b\x0c\x0e-\x1f]*$"


class CaseOut(BaseModel):
    id: int
    client_id: int
    brand_id: int
    client_name: str
    kind: Kind
    status: Status
    owner_staff_user_id: int | None
    screening_match_id: int | None
    aml_alert_id: int | None
    subject_key: str | None
    client_blocked: bool = Field(description="This case suspended the client.")
    decision: Literal["clear", "escalate", "report"] | None
    decision_reason: str | None
    opened_at: datetime
    updated_at: datetime
    decided_at: datetime | None


class NoteOut(BaseModel):
    id: int
    staff_user_id: int | None
    body: str
    created_at: datetime


class CaseDetailOut(BaseModel):
    case: CaseOut
    notes: list[NoteOut]
    source: dict[str, Any] = Field(
        description="What raised it: the match (entry, score, factors) or the alert (rule, "
        "details)."
    )


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_user_id: int = Field(ge=1, le=BODY_ID_MAX, description="The case's new owner.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=4000, pattern=NOTE)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["clear", "escalate", "report"] = Field(
        description="clear or escalate a case under review; clear or report an escalated one."
    )
    reason: str = Field(min_length=1, max_length=1000, pattern=TEXT)


def _case(case: cases.CaseSummary) -> CaseOut:
    return CaseOut.model_validate(case, from_attributes=True)


@router.get("/cases", response_model=list[CaseOut], summary="The case queue, oldest first")
def list_cases(
    services: ServicesDep,
    principal: Reader,
    status: Annotated[Status | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
    owner_staff_user_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    client_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CaseOut]:
    with services.db.connection() as conn:
        found = cases.list_cases(
            conn,
            brand_ids(conn, principal),
            status=status,
            kind=kind,
            owner_staff_user_id=owner_staff_user_id,
            client_id=client_id,
            limit=limit,
            offset=offset,
        )
    return [_case(c) for c in found]


@router.get(
    "/cases/{case_id}",
    response_model=CaseDetailOut,
    summary="One case with its notes and what raised it",
)
def get_case(services: ServicesDep, principal: Reader, case_id: CaseId) -> CaseDetailOut:
    with services.db.connection() as conn:
        detail = cases.get_case(conn, brand_ids(conn, principal), case_id)
    return CaseDetailOut(
        case=_case(detail.case),
        notes=[NoteOut.model_validate(n, from_attributes=True) for n in detail.notes],
        source=detail.source,
    )


@router.post(
    "/cases/{case_id}/assign",
    response_model=CaseOut,
    summary="Give the case an owner (an open case goes under review)",
)
def assign(services: ServicesDep, principal: Manager, case_id: CaseId, body: Assignment) -> CaseOut:
    with services.db.connection() as conn:
        return _case(
            cases.assign(
                conn, principal.actor, brand_ids(conn, principal), case_id, body.staff_user_id
            )
        )


@router.post(
    "/cases/{case_id}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    summary="A note on an undecided case",
)
def add_note(services: ServicesDep, principal: Manager, case_id: CaseId, body: NoteIn) -> NoteOut:
    with services.db.connection() as conn:
        note = cases.add_note(conn, principal.actor, brand_ids(conn, principal), case_id, body.body)
    return NoteOut.model_validate(note, from_attributes=True)


@router.post(
    "/cases/{case_id}/decision",
    response_model=CaseOut,
    summary="Clear, escalate or report the case, with the reason",
)
def decide(services: ServicesDep, principal: Manager, case_id: CaseId, body: DecisionIn) -> CaseOut:
    with services.db.connection() as conn:
        return _case(
            cases.decide(
                conn,
                principal.actor,
                brand_ids(conn, principal),
                case_id,
                body.decision,
                body.reason,
            )
        )
