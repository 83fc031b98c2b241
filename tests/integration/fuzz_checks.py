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
