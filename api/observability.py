"""Every HTTP request gets an id, a log line and its place in the api's metrics.

The id is the client's ``X-Request-ID`` when it sends a sane one (letters, digits, ``._-``, at
most 64), else a new one; the response carries it back, every log line written while the
request is handled shows it, and the commands the request sends to the execution service carry
it (``trace``), so one order can be followed from the api's log into the service's. Metrics
are labelled by the route's template (``/v1/accounts/{account_id}``), never by the path a
client typed: account ids stay out of the labels and the label set stays bounded.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brokerstack.logs import request_context

log = logging.getLogger("api.requests")

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_PROBES = frozenset({"/health", "/ready"})
UNMATCHED = "unmatched"  # a path no route serves (404s of scanners are one series)

REQUESTS = Counter(
    "brokerstack_api_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "brokerstack_api_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def request_id(scope: Scope) -> str:
    name: bytes
    value: bytes
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE.match(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestObservability:
    """Pure ASGI middleware (no body buffering; WebSockets get an id and pass through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        if scope["type"] == "websocket":
            with request_context(rid):
                await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
            await send(message)

        with request_context(rid):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                method, route = scope["method"], route_template(scope)
                REQUESTS.labels(method, route, str(status)).inc()
                LATENCY.labels(method, route).observe(elapsed)
                # probes come every few seconds from load balancers: not news at INFO
                level = logging.DEBUG if route in _PROBES else logging.INFO
                log.log(level, "%s %s %d %.1f ms", method, scope["path"], status, elapsed * 1000)
