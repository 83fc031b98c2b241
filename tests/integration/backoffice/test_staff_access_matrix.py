"""The access matrix, generated from the app's route table: every ``/v1/admin`` route x every
role x the caller's own brand and another brand gives the allow or deny the permission data
(``ROLE_PERMISSIONS``) says. A route with no ``require(...)`` marker, or with no row in
``CASES`` telling how to call it, fails this test — so a new admin route cannot ship without
an access rule.

Each role's member works for brand A only and logs in with its second factor; "allowed" is
a 2xx on brand A's objects, and on brand B's objects the route's own refusal (404 for an
object of another brand, like a client asking for another client's account); "denied" is
403 ``forbidden`` on both.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from pydantic import PostgresDsn, RedisDsn

from api.app import create_app
from backoffice.reconciliation.formats import CARD_COLUMNS, STATEMENT_COLUMNS
from brokerstack.settings import Settings
from tests.integration.backoffice.support_queues import (
    add_lead,
    add_task,
    alert_case,
    copy_kyc_levels,
    open_recon_exception,
    pending_withdrawal,
    waiting_application,
)
from tests.integration.backoffice.support_staff import (
    add_brand,
    add_client,
    add_member,
    brand_id,
    login,
    staff_api,
    staff_settings,
)
from tests.integration.backoffice.support_trading import (
    AcceptingCommands,
    BrandAccount,
    add_brand_account,
    add_pending_request,
)
from warehouse.reference_data import ROLE_PERMISSIONS, ROLES

SETTLEMENT_HEADER = ",".join(CARD_COLUMNS) + "\r\n"
STATEMENT_HEADER = ",".join(STATEMENT_COLUMNS) + "\r\n"
UNGUARDED = ("/v1/admin/auth/", "/v1/admin/me")  # any staff session: log in, out, enrol, me
_emails = itertools.count(1)


@dataclass(frozen=True)
class World:
    """One brand's objects, by the path or query parameter that names them."""

    brand_id: int
    staff_user_id: int
    client_id: int
    # trading: an account of the client (in a group of the brand) with an open position, and
    # a new pending admin request on it per call (each is decided once)
    account: BrandAccount
    pending_request: Callable[[], str]
    # the staff queues' objects (KYC, AML, CRM); `fresh(kind)` makes a new one for the routes
    # that move it on for good (a decision, a stage), so every role's call finds it waiting
    owner_id: int = 0  # a sales member who owns cases, leads and tasks (never disabled here)
    kyc_application_id: int = 0
    kyc_document_id: int = 0
    aml_case_id: int = 0
    lead_id: int = 0
    task_id: int = 0
    fresh: Callable[[str], int] = field(default=lambda kind: 0, compare=False)
    brand_code: str = ""


@dataclass(frozen=True)
class Case:
    """How to call a route on a brand's objects, and what it answers a caller of another
    brand who holds the permission (None: the route takes no object and answers 2xx)."""

    other_brand: int | None = 404
    query: Callable[[World], dict[str, Any]] = field(default=lambda w: {})
    body: Callable[[World], Any] = field(default=lambda w: None)
    path: Callable[[World], dict[str, Any]] = field(default=lambda w: {})  # over PATH_VALUES


def _new_staff(world: World) -> dict[str, Any]:
    return {
        "email": f"made{next(_emails)}@brokerstack.test",
        "display_name": "Made Here",
        "password": "a long enough password",
        "roles": ["support"],
        "brand_ids": [world.brand_id],
    }


def _rid(_: World) -> str:
    return f"matrix-{next(_emails)}"


_TRADING = "/v1/admin/trading"
_TRADING_CASES = {
    ("GET", _TRADING + "/accounts/{account_id}"): Case(),
    ("PUT", _TRADING + "/accounts/{account_id}/leverage"): Case(
        body=lambda w: {"request_id": _rid(w), "leverage": 50}
    ),
    ("PUT", _TRADING + "/accounts/{account_id}/group"): Case(
        body=lambda w: {"request_id": _rid(w), "group": w.account.group}
    ),
    ("PUT", _TRADING + "/accounts/{account_id}/trading-enabled"): Case(
        body=lambda w: {"request_id": _rid(w), "enabled": False}
    ),
    ("POST", _TRADING + "/positions/{position_id}/close"): Case(
        body=lambda w: {"request_id": _rid(w)}
    ),
    ("POST", _TRADING + "/accounts/{account_id}/close-all"): Case(
        body=lambda w: {"request_id": _rid(w)}
    ),
    **{
        ("POST", _TRADING + "/accounts/{account_id}/" + kind): Case(
            body=lambda w: {"request_id": _rid(w), "amount": "10.00"}
        )
        for kind in ("balance-corrections", "credit", "bonuses")
    },
    ("GET", _TRADING + "/requests"): Case(other_brand=None),
    ("POST", _TRADING + "/requests/{request_id}/approve"): Case(),
    ("POST", _TRADING + "/requests/{request_id}/reject"): Case(
        body=lambda w: {"reason": "not justified"}
    ),
}

# (method, path) -> how to call it; each area adds the rows of its routes
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/v1/admin/staff"): Case(other_brand=None),
    ("POST", "/v1/admin/staff"): Case(other_brand=403, body=_new_staff),
    ("GET", "/v1/admin/staff/{staff_user_id}"): Case(),
    ("POST", "/v1/admin/staff/{staff_user_id}/disable"): Case(),
    ("PUT", "/v1/admin/staff/{staff_user_id}/roles/{role}"): Case(),
    ("DELETE", "/v1/admin/staff/{staff_user_id}/roles/{role}"): Case(),
    ("PUT", "/v1/admin/staff/{staff_user_id}/brands"): Case(
        body=lambda w: {"brand_ids": [w.brand_id]}
    ),
    ("GET", "/v1/admin/brands"): Case(other_brand=None),
    ("GET", "/v1/admin/brands/{brand_id}"): Case(),
    ("PATCH", "/v1/admin/brands/{brand_id}"): Case(body=lambda w: {"mail_from_name": "Desk"}),
    ("GET", "/v1/admin/audit"): Case(
        query=lambda w: {"entity_type": "client", "entity_id": str(w.client_id)}
    ),
    ("GET", "/v1/admin/audit/clients/{client_id}"): Case(),
    **{(m, "/v1/admin/kyc" + p): c for m, p, c in (
        ("GET", "/applications", Case(other_brand=None)),
        ("GET", "/applications/{application_id}", Case()),
        ("GET", "/documents/{document_id}/content", Case()),
        ("POST", "/applications/{application_id}/approve", Case(
            path=lambda w: {"application_id": w.fresh("kyc_application")}, body=lambda w: {})),
        ("POST", "/applications/{application_id}/reject", Case(
            path=lambda w: {"application_id": w.fresh("kyc_application")},
            body=lambda w: {"reason": "the photo is not of the client"})),
        ("POST", "/applications/{application_id}/request-documents", Case(
            path=lambda w: {"application_id": w.fresh("kyc_application")},
            body=lambda w: {"documents": ["proof_of_address"], "reason": "address needed"})),
    )},
    **{(m, "/v1/admin/aml/cases" + p): c for m, p, c in (
        ("GET", "", Case(other_brand=None)),
        ("GET", "/{case_id}", Case()),
        ("POST", "/{case_id}/assign", Case(body=lambda w: {"staff_user_id": w.owner_id})),
        ("POST", "/{case_id}/notes", Case(body=lambda w: {"body": "looked at the deposits"})),
        ("POST", "/{case_id}/decision", Case(
            path=lambda w: {"case_id": w.fresh("aml_case")},
            body=lambda w: {"decision": "clear", "reason": "salary deposits"})),
    )},
    **{(m, "/v1/admin/crm" + p): c for m, p, c in (
        ("GET", "/leads", Case(other_brand=None)),
        ("GET", "/leads/{lead_id}", Case()),
        ("PUT", "/leads/{lead_id}/owner", Case(
            body=lambda w: {"owner_staff_user_id": w.owner_id})),
        ("POST", "/leads/{lead_id}/stage", Case(
            path=lambda w: {"lead_id": w.fresh("lead")}, body=lambda w: {"stage": "contacted"})),
        ("POST", "/leads/{lead_id}/convert", Case(body=lambda w: {"client_id": w.client_id})),
        ("POST", "/leads/{lead_id}/notes", Case(body=lambda w: {"text": "called, no answer"})),
        ("POST", "/clients/{client_id}/notes", Case(body=lambda w: {"text": "asked about fees"})),
        ("GET", "/clients/{client_id}/timeline", Case()),
        ("GET", "/tasks", Case(other_brand=None)),
        ("POST", "/tasks", Case(body=lambda w: {
            "owner_staff_user_id": w.owner_id, "subject": "Call back",
            "due_at": "2030-01-02T09:00:00Z", "lead_id": w.lead_id})),
        ("POST", "/tasks/{task_id}/close", Case(body=lambda w: {"status": "done"})),
    )},
    **_TRADING_CASES,
    ("GET", "/v1/admin/payments/withdrawals"): Case(other_brand=None),
    ("POST", "/v1/admin/payments/withdrawals/{withdrawal_id}/approve"): Case(
        path=lambda w: {"withdrawal_id": w.fresh("withdrawal")}),
    ("POST", "/v1/admin/payments/withdrawals/{withdrawal_id}/reject"): Case(
        path=lambda w: {"withdrawal_id": w.fresh("withdrawal")},
        body=lambda w: {"reason": "not the client's card"}),
    ("POST", "/v1/admin/reconciliation/settlements"): Case(other_brand=None, body=lambda w: {
        "provider": "card-sim", "filename": "empty.csv", "content": SETTLEMENT_HEADER}),
    ("POST", "/v1/admin/reconciliation/statements"): Case(body=lambda w: {
        "brand": w.brand_code, "filename": "empty.csv", "content": STATEMENT_HEADER}),
    ("GET", "/v1/admin/reconciliation/exceptions"): Case(other_brand=None),
    ("POST", "/v1/admin/reconciliation/exceptions/{exception_id}/resolve"): Case(
        path=lambda w: {"exception_id": w.fresh("recon_exception")},
        body=lambda w: {"reason": "the PSP's fee adjustment"}),
}  # fmt: skip
PATH_VALUES: dict[str, Callable[[World], Any]] = {
    "brand_id": lambda w: w.brand_id,
    "staff_user_id": lambda w: w.staff_user_id,
    "client_id": lambda w: w.client_id,
    "role": lambda w: "support",
    "application_id": lambda w: w.kyc_application_id,
    "document_id": lambda w: w.kyc_document_id,
    "case_id": lambda w: w.aml_case_id,
    "lead_id": lambda w: w.lead_id,
    "task_id": lambda w: w.task_id,
    "account_id": lambda w: w.account.account_id,
    "position_id": lambda w: w.account.position_id,
    "request_id": lambda w: w.pending_request(),
}


def _permissions(dependant: Dependant) -> Iterator[str]:
    marker = getattr(dependant.call, "required_permission", None)
    if marker is not None:
        yield str(marker)
    for sub in dependant.dependencies:
        yield from _permissions(sub)


def _flat(routes: list[Any]) -> Iterator[Any]:
    """Every endpoint of the route table: this FastAPI keeps an included router as one entry
    whose effective candidates (path, methods, dependant, include-level dependencies merged)
    are the routes the app serves."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:
            yield from _flat(candidates())
        elif isinstance(getattr(route, "dependant", None), Dependant):
            yield route


def admin_routes() -> list[tuple[str, str, set[str]]]:
    """(method, path, permissions required) of every guarded admin route."""
    app = create_app(Settings(database_url=PostgresDsn("postgresql://unused"),
                              redis_url=RedisDsn("redis://unused")))  # fmt: skip
    found = []
    for route in _flat(app.routes):
        if not route.path.startswith("/v1/admin") or route.path.startswith(UNGUARDED):
            continue
        for method in sorted(route.methods):
            found.append((method, route.path, set(_permissions(route.dependant))))
    return found


def test_every_admin_route_has_a_permission_and_a_case() -> None:
    routes = admin_routes()
    assert len(routes) >= len(CASES)
    unguarded = [f"{m} {p}" for m, p, needs in routes if len(needs) != 1]
    assert not unguarded, f"admin routes without exactly one require(...): {unguarded}"
    uncovered = [f"{m} {p}" for m, p, _ in routes if (m, p) not in CASES]
    assert not uncovered, f"admin routes without a row in CASES: {uncovered}"


@pytest.fixture
def matrix(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, World]]]:
    del redis_client
    a, b = brand_id(seeded_db_url, "demo"), add_brand(seeded_db_url, "other")
    settings = staff_settings(seeded_db_url, redis_url, tmp_path)
    worlds = {name: _world(seeded_db_url, settings, name, brand)
              for name, brand in (("own", a), ("other", b))}  # fmt: skip
    with staff_api(settings) as api:
        # the trading routes' commands: accepted, without an execution service
        api.app.state.services.commands = AcceptingCommands()  # type: ignore[attr-defined]
        yield api, worlds


def _world(db: str, settings: Settings, name: str, brand: int) -> World:
    staff = add_member(db, ["sales"], [brand], enrol=False).id
    owner = add_member(db, ["sales"], [brand], enrol=False).id
    client = add_client(db, brand, f"client-{name}@example.com")
    payer = add_client(db, brand, f"payer-{name}@example.com")
    copy_kyc_levels(db, brand)
    waiting = waiting_application(db, settings, brand)
    lead = add_lead(db, brand)
    account = add_brand_account(db, brand, client)
    makers: dict[str, Callable[[], int]] = {
        "kyc_application": lambda: waiting_application(db, settings, brand).application_id,
        "aml_case": lambda: alert_case(db, client, owner=owner),
        "lead": lambda: add_lead(db, brand),
        # a client of its own: the world's client has an open AML case, which stops withdrawals
        "withdrawal": lambda: pending_withdrawal(db, payer),
        "recon_exception": lambda: open_recon_exception(db, brand),
    }
    code = {"own": "demo"}.get(name, name)  # the fixture's brands: demo and other
    return World(brand_id=brand, brand_code=code, staff_user_id=staff, client_id=client,
                 account=account,
                 pending_request=lambda: add_pending_request(db, staff, account.account_id),
                 owner_id=owner,
                 kyc_application_id=waiting.application_id, kyc_document_id=waiting.document_id,
                 aml_case_id=alert_case(db, client), lead_id=lead,
                 task_id=add_task(db, brand, owner, lead),
                 fresh=lambda kind: makers[kind]())  # fmt: skip


def _call(api: TestClient, method: str, path: str, world: World, headers: dict[str, str]) -> Any:
    case = CASES[(method, path)]
    values = {k: make(world) for k, make in PATH_VALUES.items() if "{" + k + "}" in path}
    url = path.format(**(values | case.path(world)))
    body = case.body(world)
    return api.request(method, url, params=case.query(world), json=body, headers=headers)


def _error_code(response: Any) -> str | None:
    body = response.json() if response.content else None
    return body["error"]["code"] if isinstance(body, dict) and "error" in body else None


def test_each_role_is_allowed_exactly_what_its_permissions_say(
    matrix: tuple[TestClient, dict[str, World]], seeded_db_url: str
) -> None:
    api, worlds = matrix
    routes = admin_routes()
    wrong = []
    for role in sorted(ROLES):
        member = add_member(seeded_db_url, [role], [worlds["own"].brand_id])
        headers = login(api, member)
        granted = set(ROLE_PERMISSIONS[role])
        for method, path, needs in routes:
            allowed = needs <= granted
            case = CASES[(method, path)]
            for side in ("own", "other"):
                response = _call(api, method, path, worlds[side], headers)
                if not allowed:
                    ok = response.status_code == 403 and _error_code(response) == "forbidden"
                elif side == "own" or case.other_brand is None:
                    ok = 200 <= response.status_code < 300
                else:
                    ok = response.status_code == case.other_brand
                if not ok:
                    wrong.append(f"{role}: {method} {path} on the {side} brand: expected "
                                 f"{'allow' if allowed else 'deny'}, got "
                                 f"{response.status_code} {response.text[:200]}")  # fmt: skip
    assert not wrong, "\n".join(wrong)
