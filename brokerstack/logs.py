"""The one logging setup of every brokerstack process: plain text or JSON lines on stderr.

``brokerstack up`` keeps each process's stderr in a rotated file under ``var/logs`` (see
:mod:`brokerstack.logfiles`); a process run on its own logs to its stderr for whatever runs it
(systemd, a container runtime) to keep. Records go through a queue to a listener thread, so a
slow disk never stalls the thread that logs (the execution service's loop among them).

Every line carries the process name and, while one is being handled, the request id
(:func:`request_context`): the api sets it per HTTP request and sends it with each command,
and the execution service sets it while it handles the command, so grepping one id follows
one order across processes.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from brokerstack.settings import LogSettings

NO_REQUEST = "-"  # what a line written outside any request shows
_request_id: ContextVar[str] = ContextVar("request_id", default="")
_listener: logging.handlers.QueueListener | None = None

TEXT_FORMAT = "%(asctime)s %(levelname)s %(process_name)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ("asctime", "levelname", "process_name", "name", "request_id", "message")


def current_request_id() -> str:
    """The id of the request being handled here, or "" outside any."""
    return _request_id.get()


@contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """Tag every log line written inside the block (in this thread or task) with the id."""
    token = _request_id.set(request_id or "")
    try:
        yield
    finally:
        _request_id.reset(token)


class _Context(logging.Filter):
    """Adds the process name and the request id; runs in the thread that logs (a context
    variable is only readable there, not in the listener's thread)."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_name = self.process
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or NO_REQUEST
        return True


def formatter(settings: LogSettings) -> logging.Formatter:
    if settings.format == "json":
        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(process: str, settings: LogSettings, stream: TextIO | None = None) -> None:
    """Route every logger of this process (uvicorn's and the libraries' too) to ``stream``
    (stderr), in the configured format and level. Calling it again replaces the setup."""
    global _listener
    if _listener is not None:
        _listener.stop()
    output = logging.StreamHandler(stream or sys.stderr)
    output.setFormatter(formatter(settings))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    enqueue = logging.handlers.QueueHandler(records)
    enqueue.addFilter(_Context(process))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(enqueue)
    root.setLevel(settings.level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "quickfix"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    logging.captureWarnings(True)
    _listener = logging.handlers.QueueListener(records, output, respect_handler_level=False)
    _listener.start()
    atexit.register(flush_logs)


def flush_logs() -> None:
    """Write out what is queued (at exit, and before a process ends itself)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None
