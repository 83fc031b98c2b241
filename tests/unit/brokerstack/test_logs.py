"""One logging setup for every process: text or JSON lines, process name and request id."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from brokerstack.logs import flush_logs, request_context, setup_logging
from brokerstack.settings import LogSettings


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    flush_logs()
    logging.getLogger().handlers.clear()


def _lines(stream: io.StringIO) -> list[str]:
    flush_logs()  # the listener thread writes what is queued
    return stream.getvalue().splitlines()


def test_json_lines_carry_time_level_process_logger_and_request_id(output: io.StringIO) -> None:
    setup_logging("execution", LogSettings(format="json"), output)
    with request_context("req-42"):
        logging.getLogger("execution.service.loop").info("placed %s", "co:1:a")
    logging.getLogger("execution.service.loop").warning("outside")
    first, second = (json.loads(line) for line in _lines(output))
    assert first["message"] == "placed co:1:a"
    assert first["request_id"] == "req-42"
    assert first["process_name"] == "execution"
    assert first["logger"] == "execution.service.loop"
    assert first["level"] == "INFO"
    assert first["time"].startswith("20")
    assert second["request_id"] == "-"
    assert second["level"] == "WARNING"


def test_text_lines_show_the_request_id_in_brackets(output: io.StringIO) -> None:
    setup_logging("api", LogSettings(format="text"), output)
    with request_context("abc123"):
        logging.getLogger("api.requests").info("GET /v1/quotes 200")
    (line,) = _lines(output)
    assert " INFO api api.requests [abc123] GET /v1/quotes 200" in line


def test_the_request_id_belongs_to_the_thread_that_logs(output: io.StringIO) -> None:
    setup_logging("api", LogSettings(), output)
    seen = threading.Event()

    def other() -> None:
        logging.getLogger("other").info("from another thread")
        seen.set()

    with request_context("mine"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen.is_set()
    (line,) = _lines(output)
    assert "[-] from another thread" in line


def test_uvicorn_and_library_loggers_come_through_the_same_setup(output: io.StringIO) -> None:
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.addHandler(logging.StreamHandler(io.StringIO()))  # what uvicorn's own config adds
    uvicorn.propagate = False
    setup_logging("api", LogSettings(level="WARNING"), output)
    uvicorn.warning("worker died")
    logging.getLogger("psycopg").info("below the level")
    (line,) = _lines(output)
    assert "WARNING api uvicorn.error [-] worker died" in line
