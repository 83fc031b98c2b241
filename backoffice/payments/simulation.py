"""What the PSP simulators share: signed callbacks delivered on a thread of their own (signed
at each attempt, retried with a doubling backoff until answered 2xx, optionally sent more than
once), the settlement report of what each really processed, and serving an app with
``/health``, ``/ready`` and ``/metrics`` on its ops port."""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings

log = logging.getLogger(__name__)

# the headers of one delivery attempt of a body (signed now)
Signer = Callable[[bytes], dict[str, str]]
# the body of a retry, for a scheme whose signed body carries the time it was sent
Restamp = Callable[[bytes], bytes]


@dataclass
class Deliveries:
    """Signed webhooks on a thread of their own, retried until answered 2xx."""

    signer: Signer
    callback_url: str
    duplicates: int = 1
    restamp: Restamp | None = None
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    _queue: list[tuple[float, int, bytes, str]] = field(default_factory=list)
    _wake: threading.Condition = field(default_factory=threading.Condition)
    _stopped: bool = False

    def start(self) -> None:
        threading.Thread(target=self._run, name="psp-webhooks", daemon=True).start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()

    def emit(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":")).encode()
        with self._wake:
            for _ in range(self.duplicates):
                self._queue.append((time.monotonic(), 0, body, str(event["type"])))
            self._wake.notify_all()

    def idle(self) -> bool:
        with self._wake:
            return not self._queue

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as http:
            while True:
                with self._wake:
                    while not self._stopped and not any(
                        due <= time.monotonic() for due, *_ in self._queue
                    ):
                        self._wake.wait(0.05)
                    if self._stopped:
                        return
                    item = next(i for i in self._queue if i[0] <= time.monotonic())
                    self._queue.remove(item)
                _, attempts, body, kind = item
                if attempts and self.restamp is not None:
                    body = self.restamp(body)
                headers = {"Content-Type": "application/json", **self.signer(body)}
                try:
                    status: int | None = http.post(self.callback_url, content=body,
                                                   headers=headers).status_code  # fmt: skip
                except httpx.HTTPError as exc:
                    log.info("webhook %s not delivered (%s)", kind, exc)
                    status = None
                with self._wake:
                    self.log_entries.append({"type": kind, "attempt": attempts + 1,
                                             "status": status})  # fmt: skip
                    if (status is None or not 200 <= status < 300) and attempts < 30:
                        pause = min(0.2 * 2**attempts, 5.0)
                        self._queue.append((time.monotonic() + pause, attempts + 1, body, kind))


class Activity:
    """The balance transactions a simulator booked as it processed payments, each at the time
    it happened, listed per UTC day as its settlement report: CSV in the PSP's columns, the
    time as ``YYYY-MM-DD HH:MM:SS`` in ``time_column``. With ``history`` (the stack's
    simulators) each is also appended to that JSON-lines file and read back on start, so a
    restarted simulator still reports what it processed before, as a real PSP would."""

    def __init__(
        self, columns: tuple[str, ...], time_column: str, history: Path | None = None
    ) -> None:
        self.columns = columns
        self._time_column = time_column
        self._rows: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._history = history
        if history is not None:
            history.parent.mkdir(parents=True, exist_ok=True)
            if history.exists():
                kept_text = history.read_text()
                if kept_text and not kept_text.endswith("\n"):
                    with history.open("a") as out:  # a torn last line: the next starts afresh
                        out.write("\n")
                for line in kept_text.splitlines():
                    try:
                        kept = json.loads(line)
                        self._rows.append((float(kept["at"]), dict(kept["row"])))
                    except (ValueError, KeyError, TypeError):
                        log.warning("%s: a line not kept whole is skipped", history)

    def book(self, **row: str) -> None:
        at = time.time()
        shown = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        booked = {**row, self._time_column: shown}
        with self._lock:
            self._rows.append((at, booked))
            if self._history is not None:
                with self._history.open("a") as out:
                    out.write(json.dumps({"at": at, "row": booked}) + "\n")

    def report(self, day: str) -> Response | None:
        """The day's report (``day`` is YYYY-MM-DD; None when it is not a date)."""
        try:
            start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
        with self._lock:
            rows = [row for at, row in self._rows if start <= at < start + 86400]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows([row[c] for c in self.columns] for row in rows)
        return Response(out.getvalue(), media_type="text/csv")


def history_file(settings: Settings, simulator: str) -> Path:
    """Where the stack's ``simulator`` keeps the payments it settled (under the data folder)."""
    return settings.data_path / "simulators" / f"{simulator}-settlements.jsonl"


def serve_app(settings: Settings, app: FastAPI, port: int, ops_port: int) -> int:
    """Serve until SIGTERM or SIGINT, with ``/health`` and ``/ready`` on its ops port."""
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=port,
                                           log_level="warning"))  # fmt: skip
    readiness = Readiness(checks={"http": lambda: None if server.started else "starting"})
    ops = OpsServer(settings.host, ops_port, readiness)
    ops.start()
    try:
        server.run()
    finally:
        ops.stop()
    return 0


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto}}label{{display:block;
margin:.6rem 0}}input{{width:100%;padding:.4rem}}button{{padding:.5rem 1rem}}</style></head>
<body><p><strong>{brand}</strong> (test mode)</p><h1>{title}</h1>{body}</body></html>"""
