"""Four eyes on money actions above the brand's threshold: a pending request is approved (its
command sent) or rejected by a staff member other than the one who asked.

An approval whose command the execution service refuses ends ``failed`` with the service's
answer (the decision was taken and is kept); one that cannot reach the service changes nothing
and can be retried: the command's request id is the request's, so it executes once.
"""

from __future__ import annotations

from typing import Any

import psycopg

from backoffice import audit
from backoffice.audit import Actor
from backoffice.commands import ExecutionCommands
from backoffice.trading import requests
from backoffice.trading.accounts import BrandScope
from backoffice.trading.actions import execute, staff_id, timeline
from backoffice.trading.errors import AlreadyDecided, CheckerIsMaker
from backoffice.trading.requests import AdminRequest
from backoffice.trading.rules import reply_json
from execution import contracts as c


def _pending(
    conn: psycopg.Connection[Any], actor: Actor, brands: BrandScope, request_id: str
) -> tuple[AdminRequest | None, AdminRequest, int]:
    """(the request if it still waits, else None; the request; the checker's staff id)."""
    checker = staff_id(actor)
    request = requests.load(conn, request_id, brands, lock=True)
    if request.maker_id == checker:
        raise CheckerIsMaker("the staff member who asked cannot decide", {"request_id": request_id})
    if request.status == "pending":
        return request, request, checker
    return None, request, checker


def approve_request(
    conn: psycopg.Connection[Any],
    commands: ExecutionCommands,
    actor: Actor,
    brands: BrandScope,
    *,
    request_id: str,
) -> AdminRequest:
    """Approve and execute a pending request; the same checker approving again gets the
    request as it ended (a retried call), anyone else `AlreadyDecided`."""
    waiting, request, checker = _pending(conn, actor, brands, request_id)
    if waiting is None:
        if request.checker_id == checker and request.status in ("approved", "failed"):
            return request
        raise AlreadyDecided(
            f"request {request_id!r} is {request.status}", {"status": request.status}
        )
    reply, before, after = execute(conn, commands, brands, waiting)
    status: requests.Status = "approved" if isinstance(reply, c.Accepted) else "failed"
    decided = requests.finish(conn, waiting, status, reply_json(reply), checker)
    action = f"trading.{request.action}"
    if status == "failed":
        refused = {"status": status, "reply": reply_json(reply)}
        audit.record(conn, actor, f"{action}.failed", "admin_request", request.id,
                     {"status": "pending"}, refused)  # fmt: skip
        timeline(conn, decided, f"{action}.failed", checker, {"reply": reply_json(reply)})
        return decided
    audit.record(conn, actor, action, "trading_account", request.account_id, before,
                 {**after, "maker_id": request.maker_id, "request_id": request_id})  # fmt: skip
    timeline(conn, decided, action, checker,
             {"before": before, "after": after, "maker_id": request.maker_id})  # fmt: skip
    return decided


def reject_request(
    conn: psycopg.Connection[Any],
    actor: Actor,
    brands: BrandScope,
    *,
    request_id: str,
    reason: str,
) -> AdminRequest:
    waiting, request, checker = _pending(conn, actor, brands, request_id)
    if waiting is None:
        if request.checker_id == checker and request.status == "rejected":
            return request
        raise AlreadyDecided(
            f"request {request_id!r} is {request.status}", {"status": request.status}
        )
    decided = requests.finish(conn, waiting, "rejected", None, checker, reason)
    action = f"trading.{request.action}.rejected"
    audit.record(conn, actor, action, "admin_request", request.id, {"status": "pending"},
                 {"status": "rejected", "reason": reason})  # fmt: skip
    timeline(conn, decided, action, checker, {"reason": reason})
    return decided
