"""One error body everywhere: ``{"error": {"code", "message", "details"}}``.

Every failure the api answers — bad input, auth, rate limits, execution rejects, unknown
resources, internal faults — goes through here, so clients switch on ``error.code`` alone.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.routing import Match

from execution.contracts import RejectCode

log = logging.getLogger(__name__)

OPTIONS = "OPTIONS"


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable code, stable across versions.")
    message: str = Field(description="Human-readable explanation.")
    details: dict[str, Any] = Field(
        default_factory=dict, description="Structured context (the bad fields, retry hints)."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers


def not_found(what: str, ident: object) -> ApiError:
    # The same answer for "absent" and "someone else's": no 403 that would confirm existence.
    return ApiError(404, "not_found", f"{what} {ident} not found", {"resource": what})


def invalid(field: str, where: str, message: str) -> ApiError:
    """A validation error found past the schema (a rule across fields), in the usual shape."""
    return ApiError(
        422,
        "validation_error",
        f"invalid value for {field}",
        {"fields": [{"field": field, "in": where, "message": message, "type": "value_error"}]},
    )


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


# Execution reject code -> HTTP status. The code itself is passed through unchanged.
REJECT_STATUS: dict[RejectCode, int] = {
    RejectCode.MALFORMED: 400,
    RejectCode.UNSUPPORTED_VERSION: 400,
    RejectCode.UNKNOWN_ACCOUNT: 404,
    RejectCode.UNKNOWN_SYMBOL: 404,
    RejectCode.UNKNOWN_ORDER: 404,
    RejectCode.UNKNOWN_POSITION: 404,
    RejectCode.ACCOUNT_DISABLED: 403,
    RejectCode.KYC_NOT_APPROVED: 403,
    RejectCode.TRADE_DISABLED: 403,
    RejectCode.MARKET_CLOSED: 409,
    RejectCode.INVALID_VOLUME: 422,
    RejectCode.INVALID_PRICE: 422,
    RejectCode.INVALID_STOPS: 422,
    RejectCode.INVALID_EXPIRATION: 422,
    RejectCode.INVALID_AMOUNT: 422,
    RejectCode.OFF_QUOTES: 409,
    RejectCode.NO_MONEY: 422,
    RejectCode.MARGIN_CALL: 422,
    RejectCode.TOO_MANY_REQUESTS: 429,
    RejectCode.LIMIT_POSITIONS: 422,
    RejectCode.LIMIT_EXPOSURE: 422,
    RejectCode.HEDGING_ONLY: 422,
    RejectCode.INVALID_LEVERAGE: 422,
    RejectCode.INVALID_GROUP: 422,
    RejectCode.FOK_UNFILLED: 409,
    RejectCode.ROUTING_REJECTED: 409,
    RejectCode.LP_REJECTED: 409,
    RejectCode.UNKNOWN_WALLET: 404,
    RejectCode.INTERNAL_ERROR: 500,
    RejectCode.REQUOTE: 409,
    # the api gave up waiting (504) before the service reached the command: nothing was done
    RejectCode.COMMAND_EXPIRED: 504,
    RejectCode.IDEMPOTENCY_CONFLICT: 409,
}


def rejected(code: RejectCode, message: str, request_id: str) -> ApiError:
    return ApiError(
        REJECT_STATUS.get(code, 409),
        code.value,
        message or f"rejected by the execution service: {code.value}",
        {"request_id": request_id, "source": "execution"},
    )


def _body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(_body(code, message), status_code=status, headers=headers)


_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _describe(error: Any) -> dict[str, str]:
    loc = tuple(error.get("loc") or ())
    located = bool(loc) and loc[0] in _LOCATIONS
    # ("body", "volume") -> "volume"; nested fields as a dotted path.
    path = loc[1:] if located else loc
    return {
        "field": ".".join(str(part) for part in path) or "body",
        "in": str(loc[0]) if located else "body",
        "message": str(error.get("msg", "invalid")),
        "type": str(error.get("type", "invalid")),
    }


def validation_body(errors: list[Any]) -> dict[str, Any]:
    fields = [_describe(e) for e in errors]
    first = fields[0]["field"] if fields else "body"
    return _body("validation_error", f"invalid value for {first}", {"fields": fields})


_DECLARED: dict[int, tuple[Any, frozenset[str]]] = {}


def _declared_query(dependant: Any) -> frozenset[str]:
    """The query parameters a route's dependency tree declares, worked out once per route."""
    known = _DECLARED.get(id(dependant))
    if known is None or known[0] is not dependant:
        flat = get_flat_params(dependant)
        names = frozenset(f.alias for f in flat if isinstance(f.field_info, params.Query))
        known = _DECLARED[id(dependant)] = (dependant, names)
    return known[1]


# Third parties' callbacks carry query strings of their own making (and sign the URL with them).
OPEN_QUERY_PREFIXES = ("/v1/webhooks/",)


def known_query_only(connection: HTTPConnection) -> None:
    """Refuse query parameters the route does not declare (``?limt=5`` would otherwise be
    dropped silently and the default used): 422 naming each, like any other bad field.
    Web sockets say their errors on the socket, so they are left to their route."""
    if connection.scope["type"] != "http" or connection.url.path.startswith(OPEN_QUERY_PREFIXES):
        return
    route = connection.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared = _declared_query(dependant)
    unknown = sorted(set(connection.query_params.keys()) - declared)
    if unknown:
        fields = [
            {"field": name, "in": "query", "message": "unknown query parameter",
             "type": "extra_forbidden"}
            for name in unknown
        ]  # fmt: skip
        raise ApiError(422, "validation_error", f"unknown query parameter {unknown[0]!r}",
                       {"fields": fields})  # fmt: skip


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        _body(exc.code, exc.message, exc.details), status_code=exc.status, headers=exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_body(list(exc.errors())), status_code=422)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, OPTIONS included; empty when no
    route has the path. FastAPI makes a route per method and Starlette's 405 names only the
    first one's, so each method is asked of the routes (OPTIONS, served at every path, is not).
    """
    routes = request.app.routes
    methods = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return [*methods, OPTIONS] if methods else []


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        return JSONResponse(
            _body(code, f"{request.method} is not served here", {"allowed": allowed}),
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )
    return JSONResponse(
        _body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(_body("internal_error", "internal error"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


# Added to every route's OpenAPI responses so generated clients know the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Bad request"),
        (401, "Missing, expired or forged credentials"),
        (403, "Credentials lack the scope"),
        (404, "Not found (or not yours)"),
        (409, "Conflict with market or order state"),
        (422, "Invalid input (details.fields names each bad field) or trade refused"),
        (429, "Rate limited; see Retry-After"),
        (504, "The execution service did not answer in time"),
    )
}
