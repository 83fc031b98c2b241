"""The checks every schemathesis fuzz of the api runs: no 5xx, answers as documented, input
the schema refuses refused, and input it admits accepted — less the refusals no schema can
foresee, which say who judged them in ``details.source``: the execution service judging a
well-formed trade against the instrument, the account and the market ("execution"), and the
back office judging well-formed input against the warehouse (a brand's countries, an unknown
role, a wrong current password, a document's content: "backoffice")."""

from __future__ import annotations

from typing import Any

from schemathesis import CheckContext, Response, checks
from schemathesis.generation.case import Case

JUDGES = ("execution", "backoffice")


def positive_data_acceptance(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """schemathesis' own check, less a 422 a judge past the schema gave."""
    if response.status_code == 422:
        error = response.json().get("error", {})
        if error.get("details", {}).get("source") in JUDGES:
            return None
    accepted: bool | None = checks.positive_data_acceptance(ctx, response, case)
    return accepted


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    positive_data_acceptance,
    checks.negative_data_rejection,
]


def unsent_extras(case: Case[Any]) -> list[Any]:
    """The checks to leave out for a case whose only schema violation never reaches the wire:
    schemathesis counts a query key the operation does not declare as invalid, but a key whose
    value is null or an empty list is not sent at all, so the server rightly accepts what it
    receives (the api refuses undeclared keys it is sent)."""
    declared = {q.name for q in case.operation.query}
    extras = {k: v for k, v in (case.query or {}).items() if k not in declared}
    if extras and all(v is None or v == [] for v in extras.values()):
        return [checks.negative_data_rejection]
    return []
