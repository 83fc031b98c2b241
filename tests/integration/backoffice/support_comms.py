"""Builders for the comms tests: settings pointing at a test's sink / simulator / api, clients,
a delivery round as the worker runs it, and servers in threads of the test process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from fastapi import FastAPI
from pydantic import PostgresDsn, RedisDsn

from backoffice.comms.delivery import deliver_due
from backoffice.comms.smtp_sink import read_index, start_sink
from backoffice.worker import JobContext
from brokerstack.settings import BackofficeSettings, Settings
from tests.integration.api.conftest import make_settings


class NoCommands:
    def execute(self, command: Any) -> Any:
        raise AssertionError("the outbox sends no command to the execution service")


def comms_settings(
    db_url: str,
    folder: Path,
    redis_url: str = "redis://127.0.0.1:1/0",
    api_port: int = 8000,
    **backoffice: Any,
) -> Settings:
    """Settings with quick retries and leases unless the test says otherwise."""
    config = {
        "outbox_first_retry_seconds": 0.5,
        "outbox_lease_seconds": 60.0,
        "outbox_max_attempts": 5,
        **backoffice,
    }
    base = make_settings(db_url, redis_url, folder)
    return Settings(
        database_url=PostgresDsn(db_url),
        redis_url=RedisDsn(redis_url),
        data_dir=folder,
        api=base.api,
        api_port=api_port,
        backoffice=BackofficeSettings(**config),
    )


def deliver_round(settings: Settings) -> int:
    """One round of the worker's outbox job."""
    return deliver_due(JobContext(settings, settings.database_dsn, NoCommands()))


def until(
    what: str, check: Callable[[], bool], rounds: Callable[[], object], limit: float = 30
) -> None:
    """Run ``rounds`` until ``check`` holds (the retry and lease clocks are real)."""
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        rounds()
        time.sleep(0.1)


def add_client(
    db_url: str, email: str, first_name: str = "Anna", brand: str = "demo", country: str = "DE"
) -> tuple[int, int]:
    """(brand id, client id) of a new client."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """INSERT INTO clients (brand_id, email, first_name, last_name, country)
               SELECT id, %s, %s, 'Schmidt', %s FROM brands WHERE code = %s
               RETURNING brand_id, id""",
            (email, first_name, country, brand),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def add_brand(db_url: str, code: str, name: str, **columns: Any) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO brands (code, name) VALUES (%s, %s) RETURNING id", (code, name)
        ).fetchone()
        assert row is not None
        for column, value in columns.items():
            conn.execute(f"UPDATE brands SET {column} = %s WHERE id = %s", (value, row[0]))
    return int(row[0])


def message_row(db_url: str, message_id: int) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        cursor = conn.execute("SELECT * FROM messages WHERE id = %s", (message_id,))
        names = [column.name for column in cursor.description or []]
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def timeline(db_url: str, client_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT event_type, channel, payload FROM crm_events WHERE client_id = %s
               ORDER BY occurred_at, id""",
            (client_id,),
        ).fetchall()
    return [(str(a), str(b), dict(c)) for a, b, c in rows]


def kept_mails(folder: Path) -> list[EmailMessage]:
    """The mails the sink kept under ``folder``, oldest first, parsed from their .eml files."""
    parser = BytesParser(policy=policy.default)
    return [
        parser.parsebytes((folder / entry["file"]).read_bytes()) for entry in read_index(folder)
    ]


@contextmanager
def sink(folder: Path, port: int) -> Iterator[Path]:
    controller = start_sink(folder, "127.0.0.1", port)
    try:
        yield folder
    finally:
        controller.stop()


@contextmanager
def served(app: FastAPI, port: int) -> Iterator[str]:
    """``app`` under uvicorn on ``port`` in a thread; its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
