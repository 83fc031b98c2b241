"""Each process's operations port: ``/health``, ``/ready`` and ``/metrics`` over HTTP.

``/health`` answers 200 while the process lives and its main loop turns; ``/ready`` answers
200 once the process serves (its services reachable, its start-up done) and 503 with the
failing checks otherwise; ``/metrics`` is the Prometheus text format of the process's registry
(for the api, of every worker: prometheus-client's multiprocess mode). The supervisor of
``brokerstack up`` waits for ``/ready`` before it starts the next process, and
``brokerstack status`` reports each process from it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

# A check answers None when it passes, or why it fails.
Check = Callable[[], str | None]


@dataclass
class Readiness:
    """What a process must have done and still reach before it counts as ready.

    ``checks`` run on every ``/ready`` request (keep them quick: a ping, a fresh timestamp);
    :meth:`set` records what the process itself knows (start-up finished, a round failed).
    ``alive`` answers ``/health``: None while the process's main loop turns, else why not
    (a process that is not alive is not ready either).
    """

    checks: dict[str, Check] = field(default_factory=dict)
    alive: Check = field(default=lambda: None)
    _states: dict[str, str | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, name: str, failure: str | None) -> None:
        """Record a state the process knows: ``None`` when fine, else why not."""
        with self._lock:
            self._states[name] = failure

    def failures(self) -> dict[str, str]:
        with self._lock:
            found = {name: why for name, why in self._states.items() if why is not None}
        for name, check in {"alive": self.alive, **self.checks}.items():
            why = _run(check)
            if why is not None:
                found[name] = why
        return found


def stalled(last_turn: Callable[[], float], limit: float) -> Check:
    """An ``alive`` check: fails when ``last_turn()`` (a monotonic time) is over ``limit``
    seconds ago."""

    def check() -> str | None:
        idle = time.monotonic() - last_turn()
        return f"main loop stalled for {idle:.0f}s" if idle > limit else None

    return check


def _run(check: Check) -> str | None:
    try:
        return check()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"


class OpsServer:
    """Serves one process's ``/health``, ``/ready`` and ``/metrics`` from a daemon thread."""

    def __init__(
        self,
        host: str,
        port: int,
        readiness: Readiness,
        registry: CollectorRegistry | Callable[[], CollectorRegistry] = REGISTRY,
    ) -> None:
        self.readiness = readiness
        self._registry = registry
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ops-http", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OpsServer:
        self._thread.start()
        log.info("health, readiness and metrics on %s", self.address)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def registry(self) -> CollectorRegistry:
        return self._registry() if callable(self._registry) else self._registry

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        ops = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/health":
                    why = _run(ops.readiness.alive)
                    body = {"status": "alive"} if why is None else {"status": why}
                    self._json(200 if why is None else 503, body)
                elif path == "/ready":
                    failures = ops.readiness.failures()
                    self._json(503 if failures else 200, {"ready": not failures, **failures})
                elif path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(ops.registry()))
                else:
                    self._json(404, {"error": "not found: try /health, /ready or /metrics"})

            def _json(self, status: int, body: Mapping[str, object]) -> None:
                self._send(status, "application/json", json.dumps(body).encode())

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                del format, args  # scrapes every few seconds are not news

        return Handler
