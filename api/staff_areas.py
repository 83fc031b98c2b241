"""What the back-office queue routes (KYC review, AML cases, CRM) share: the staff member's
brands as the list the area services take, and the areas' refusals in the api's one error
body (``not_found`` 404 — another brand's object answers the same —, a rule of the object's
state 409, input a rule refuses 422 with ``details.source="backoffice"``)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.staff_auth import StaffPrincipal
from backoffice.aml.errors import AmlError
from backoffice.crm.errors import CrmError
from backoffice.crm.errors import NotFound as CrmNotFound
from backoffice.kyc.errors import DecisionRefused, KycError
from backoffice.kyc.errors import NotFound as KycNotFound

# AML codes: absent (or another brand's), or input a rule refuses; the others are the case's
# state (closed, not assigned, a decision its status does not allow): 409
_AML_NOT_FOUND = frozenset({"case_not_found"})
_AML_INVALID = frozenset({"empty_note", "reason_required", "unknown_staff_user"})
# CRM codes of input a rule refuses; the others (a stage move, a closed task) are 409
_CRM_INVALID = frozenset(
    {
        "invalid_note",
        "invalid_subject",
        "invalid_cursor",
        "invalid_limit",
        "reason_required",
        "reason_too_long",
        "subject_required",
        "subject_mismatch",
    }
)


def brand_ids(conn: psycopg.Connection[Any], principal: StaffPrincipal) -> list[int]:
    """The brands the staff member works for (every brand when unlimited)."""
    if principal.brand_ids is not None:
        return sorted(principal.brand_ids)
    return [int(row[0]) for row in conn.execute("SELECT id FROM brands ORDER BY id")]


def _body(status: int, code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    if status == 422:
        details = {**details, "source": "backoffice"}
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status
    )


async def _kyc(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KycError)
    # a decision the application's state refuses is 409; one naming a bad field is input
    state = isinstance(exc, DecisionRefused) and not {"field", "allowed"} & exc.details.keys()
    status = 404 if isinstance(exc, KycNotFound) else 409 if state else 422
    details = {k: v for k, v in exc.details.items() if isinstance(v, (str, int, list))}
    return _body(status, exc.code, exc.message, details)


async def _aml(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AmlError)
    code = "not_found" if exc.code in _AML_NOT_FOUND else exc.code
    status = 404 if exc.code in _AML_NOT_FOUND else 422 if exc.code in _AML_INVALID else 409
    return _body(status, code, str(exc), {})


async def _crm(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CrmError)
    status = 404 if isinstance(exc, CrmNotFound) else 422 if exc.code in _CRM_INVALID else 409
    return _body(status, exc.code, exc.message, {})


def install(app: FastAPI) -> None:
    app.add_exception_handler(KycError, _kyc)
    app.add_exception_handler(AmlError, _aml)
    app.add_exception_handler(CrmError, _crm)
