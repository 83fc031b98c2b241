"""The sales and retention desks' CRM: leads (list, read, reassign, move through their stages,
convert to a client), tasks (list, create, close), notes about a client or a lead, and a
client's timeline paged by a cursor. Every change is audited and on the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas import ID_MAX, AwareDatetime
from api.staff_areas import brand_ids
from api.staff_auth import StaffPrincipal, require
from backoffice.crm import leads, notes, tasks, timeline
from backoffice.crm.stages import Stage

# in a body the OpenAPI bound is a float: keep it one a float holds exactly
BODY_ID_MAX = 2**53

router = APIRouter(prefix="/v1/admin/crm", tags=["admin: crm"], responses=ERROR_RESPONSES)

Reader = Annotated[StaffPrincipal, require("crm.read")]
Manager = Annotated[StaffPrincipal, require("crm.manage")]
LeadId = Annotated[int, Path(ge=1, le=ID_MAX, description="Lead id.")]
ClientId = Annotated[int, Path(ge=1, le=ID_MAX, description="Client id.")]
TaskId = Annotated[int, Path(ge=1, le=ID_MAX, description="Task id.")]
StaffId = Annotated[int, Field(ge=1, le=BODY_ID_MAX)]
StageName = Literal["new", "contacted", "qualified", "registered", "funded", "lost"]
TaskStatus = Literal["open", "done", "cancelled"]
TEXT = r"^[^\x00-\x1f]*[^\x00-\x20][^\x00-\x1f]*$"  # one line, not blank
NOTE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*[^\x00-\x20][^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# (time, source, id) of the last item seen; years as api.schemas.AwareDatetime takes them
CURSOR = r"^(?:19[7-9][0-9]|2[01][0-9]{2}|2200)-[0-9T:.+-]{14,36}\|[a-z_]{1,20}\|[0-9]{1,18}$"


class LeadOut(BaseModel):
    id: int
    brand_id: int
    full_name: str
    email: str | None
    phone: str | None
    phone_e164: str | None
    country: str | None
    language: str | None
    source: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    click_id: str | None
    referral_code: str | None
    ib_partner_id: int | None
    status: StageName
    lost_reason: str | None
    owner_staff_user_id: int | None
    client_id: int | None
    created_at: datetime
    stage_changed_at: datetime
    last_submitted_at: datetime


class OwnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_staff_user_id: StaffId | None = Field(
        description="A staff member of the lead's brand; null: the assignment rules choose."
    )


class OwnerOut(BaseModel):
    lead_id: int
    owner_staff_user_id: int | None = Field(description="null: no rule matched.")


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: Literal["contacted", "qualified", "funded", "lost"] = Field(
        description="registered is reached by converting the lead; lost needs a reason."
    )
    reason: str | None = Field(default=None, max_length=500, pattern=TEXT)


class ConversionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: int = Field(ge=1, le=BODY_ID_MAX, description="The client (of the lead's brand).")


class ConversionOut(BaseModel):
    lead_id: int
    client_id: int


class TaskOut(BaseModel):
    id: int
    brand_id: int
    client_id: int | None
    lead_id: int | None
    owner_staff_user_id: int
    subject: str
    due_at: datetime
    status: TaskStatus
    created_by_staff_user_id: int | None
    created_by_rule_id: int | None
    created_at: datetime
    closed_at: datetime | None


class TaskIn(BaseModel):
    """A task about a client or a lead (one of them at least; both: the lead must be the
    client's)."""

    model_config = ConfigDict(extra="forbid")

    owner_staff_user_id: StaffId
    subject: str = Field(min_length=1, max_length=500, pattern=TEXT)
    due_at: AwareDatetime = Field(description="With its offset, e.g. 2026-12-03T09:00:00Z.")
    client_id: int | None = Field(default=None, ge=1, le=BODY_ID_MAX)
    lead_id: int | None = Field(default=None, ge=1, le=BODY_ID_MAX)


class Created(BaseModel):
    id: int


class TaskClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["done", "cancelled"]


class TaskClosed(BaseModel):
    task_id: int
    status: Literal["done", "cancelled"]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000, pattern=NOTE)


class TimelineItemOut(BaseModel):
    kind: str = Field(
        description="The event type ('note.added', 'kyc.approved', ...), "
        "'task', 'trading.first_trade', 'trading.margin_call', ..."
    )
    time: datetime
    actor: str
    summary: str
    channel: str
    source: str
    id: int
    details: dict[str, Any]


class TimelinePageOut(BaseModel):
    items: list[TimelineItemOut]
    next_before: str | None = Field(
        description="Pass as before for the next (older) page; null: nothing older."
    )


def _lead(lead: leads.Lead) -> LeadOut:
    return LeadOut.model_validate(lead, from_attributes=True)


@router.get(
    "/leads",
    response_model=list[LeadOut],
    summary="Leads of your brands, newest first (page on with before_id)",
)
def list_leads(
    services: ServicesDep,
    principal: Reader,
    stage: Annotated[StageName | None, Query()] = None,
    owner_staff_user_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[LeadOut]:
    with services.db.connection() as conn:
        found = leads.list_leads(
            conn,
            brand_ids=brand_ids(conn, principal),
            stage=None if stage is None else Stage(stage),
            owner_staff_user_id=owner_staff_user_id,
            before_id=before_id,
            limit=limit,
        )
    return [_lead(lead) for lead in found]


@router.get("/leads/{lead_id}", response_model=LeadOut, summary="One lead")
def get_lead(services: ServicesDep, principal: Reader, lead_id: LeadId) -> LeadOut:
    with services.db.connection() as conn:
        return _lead(leads.get_lead(conn, lead_id, brand_ids=brand_ids(conn, principal)))


@router.put(
    "/leads/{lead_id}/owner",
    response_model=OwnerOut,
    summary="Give the lead to a staff member, or back to the assignment rules",
)
def reassign_lead(
    services: ServicesDep, principal: Manager, lead_id: LeadId, body: OwnerIn
) -> OwnerOut:
    with services.db.connection() as conn:
        owner = leads.reassign_lead(
            conn,
            principal.actor,
            lead_id,
            body.owner_staff_user_id,
            brand_ids=brand_ids(conn, principal),
        )
    return OwnerOut(lead_id=lead_id, owner_staff_user_id=owner)


@router.post(
    "/leads/{lead_id}/stage",
    response_model=LeadOut,
    summary="Move the lead to a stage (lost needs a reason)",
)
def move_lead(services: ServicesDep, principal: Manager, lead_id: LeadId, body: StageIn) -> LeadOut:
    with services.db.connection() as conn:
        return _lead(
            leads.move_lead(
                conn,
                principal.actor,
                lead_id,
                body.stage,
                body.reason,
                brand_ids=brand_ids(conn, principal),
            )
        )


@router.post(
    "/leads/{lead_id}/convert",
    response_model=ConversionOut,
    summary="The lead registered as a client: its history moves to the client",
)
def convert_lead(
    services: ServicesDep, principal: Manager, lead_id: LeadId, body: ConversionIn
) -> ConversionOut:
    with services.db.connection() as conn:
        leads.convert_lead(
            conn, lead_id, body.client_id, principal.actor, brand_ids=brand_ids(conn, principal)
        )
    return ConversionOut(lead_id=lead_id, client_id=body.client_id)


@router.post(
    "/leads/{lead_id}/notes",
    response_model=Created,
    status_code=status.HTTP_201_CREATED,
    summary="A note about a lead",
)
def note_on_lead(
    services: ServicesDep, principal: Manager, lead_id: LeadId, body: NoteIn
) -> Created:
    with services.db.connection() as conn:
        return Created(
            id=notes.add_note(
                conn,
                principal.actor,
                body.text,
                brand_ids=brand_ids(conn, principal),
                lead_id=lead_id,
            )
        )


@router.post(
    "/clients/{client_id}/notes",
    response_model=Created,
    status_code=status.HTTP_201_CREATED,
    summary="A note about a client",
)
def note_on_client(
    services: ServicesDep, principal: Manager, client_id: ClientId, body: NoteIn
) -> Created:
    with services.db.connection() as conn:
        return Created(
            id=notes.add_note(
                conn,
                principal.actor,
                body.text,
                brand_ids=brand_ids(conn, principal),
                client_id=client_id,
            )
        )


@router.get(
    "/clients/{client_id}/timeline",
    response_model=TimelinePageOut,
    summary="The client's timeline, newest first, paged by the before cursor",
)
def client_timeline(
    services: ServicesDep,
    principal: Reader,
    client_id: ClientId,
    before: Annotated[
        str | None,
        Query(max_length=80, pattern=CURSOR, description="next_before of the previous page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=timeline.MAX_LIMIT)] = 50,
) -> TimelinePageOut:
    with services.db.connection() as conn:
        page = timeline.client_timeline(
            conn, client_id, before, limit, brand_ids=brand_ids(conn, principal)
        )
    return TimelinePageOut(
        items=[TimelineItemOut.model_validate(i, from_attributes=True) for i in page.items],
        next_before=page.next_before,
    )


@router.get(
    "/tasks", response_model=list[TaskOut], summary="Tasks of your brands, soonest due first"
)
def list_tasks(
    services: ServicesDep,
    principal: Reader,
    owner_staff_user_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    status: Annotated[
        TaskStatus | Literal["any"], Query(description="any: every status.")
    ] = "open",
    client_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    lead_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TaskOut]:
    with services.db.connection() as conn:
        found = tasks.list_tasks(
            conn,
            brand_ids=brand_ids(conn, principal),
            owner_staff_user_id=owner_staff_user_id,
            status=None if status == "any" else status,
            client_id=client_id,
            lead_id=lead_id,
            limit=limit,
        )
    return [TaskOut.model_validate(t, from_attributes=True) for t in found]


@router.post(
    "/tasks",
    response_model=Created,
    status_code=status.HTTP_201_CREATED,
    summary="A task about a client or a lead of your brands",
)
def create_task(services: ServicesDep, principal: Manager, body: TaskIn) -> Created:
    with services.db.connection() as conn:
        return Created(
            id=tasks.create_task(
                conn,
                principal.actor,
                body.owner_staff_user_id,
                body.subject,
                body.due_at,
                brand_ids=brand_ids(conn, principal),
                client_id=body.client_id,
                lead_id=body.lead_id,
            )
        )


@router.post(
    "/tasks/{task_id}/close",
    response_model=TaskClosed,
    summary="Mark an open task done or cancelled",
)
def close_task(
    services: ServicesDep, principal: Manager, task_id: TaskId, body: TaskClose
) -> TaskClosed:
    with services.db.connection() as conn:
        tasks.close_task(
            conn, principal.actor, task_id, body.status, brand_ids=brand_ids(conn, principal)
        )
    return TaskClosed(task_id=task_id, status=body.status)
