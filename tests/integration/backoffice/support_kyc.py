"""KYC tests' parts: the real simulator process (``brokerstack run kyc-simulator``), the api
under uvicorn on a chosen port, clients with documents, officers, and the worker's inbox job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from pydantic import PostgresDsn, RedisDsn, SecretStr

from api.app import create_app
from backoffice.kyc.documents import store_document
from backoffice.kyc.processing import process_inbox
from backoffice.kyc.provider import KycProvider
from backoffice.kyc.submission import submit_application
from brokerstack.services.ports import free_port, wait_for_port
from brokerstack.settings import ApiSettings, BackofficeSettings, Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


@dataclass
class Simulator:
    url: str
    http: httpx.Client

    def configure(self, **control: Any) -> None:
        self.http.post("/_sim/config", json=control).raise_for_status()

    def applicant(self, applicant_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/_sim/applicants/{applicant_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def review(self, applicant_id: str, answer: str, reject: str | None = None,
               labels: list[str] | None = None) -> None:  # fmt: skip
        body = {"reviewAnswer": answer, "reviewRejectType": reject, "rejectLabels": labels or []}
        self.http.post(f"/_sim/applicants/{applicant_id}/review", json=body).raise_for_status()

    def release(self, order: str = "sent") -> int:
        response = self.http.post("/_sim/release", params={"order": order})
        response.raise_for_status()
        return int(response.json()["released"])

    def deliveries(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.get("/_sim/deliveries").json()
        return answer

    def wait_delivered(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The delivery attempts once ``count`` have been answered 200 and none is pending."""

        def done() -> bool:
            log = self.deliveries()
            ok = [a for a in log["attempts"] if a["status"] == 200]
            return bool(log["idle"]) and len(ok) >= count

        wait_until(done, timeout, f"{count} webhooks delivered")
        return list(self.deliveries()["attempts"])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def simulator(callback_url: str, folder: Path, rule: str = "manual") -> Iterator[Simulator]:
    port = free_port()
    env = {**os.environ, "BROKERSTACK_DATA_DIR": str(folder), "BROKERSTACK_HOST": "127.0.0.1"}
    log = (folder / "kyc-simulator.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "brokerstack", "run", "kyc-simulator", "--port", str(port),
         "--callback-url", callback_url, "--rule", rule,
         "--ops-port", str(free_port())],  # not 9197: a developer's stack may hold it
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port, 30, "the KYC simulator")
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=10) as http:
            yield Simulator(url, http)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def api_on(settings: Settings, port: int) -> Iterator[str]:
    """The real api under uvicorn on ``port`` until the block ends; its base URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), 30, "the api")
    assert thread.is_alive(), "the api did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def kyc_settings(db_url: str, redis_url: str, folder: Path, kyc_url: str | None = None) -> Settings:
    return Settings(
        database_url=PostgresDsn(db_url),
        redis_url=RedisDsn(redis_url),
        data_dir=folder,
        api=ApiSettings(signing_key=SecretStr("kyc-test-signing-key-" + "0" * 32)),
        backoffice=BackofficeSettings(kyc_url=kyc_url),
    )


def add_client(db_url: str, email: str, level: int = 0) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """INSERT INTO clients (brand_id, email, first_name, last_name, country, kyc_level)
               SELECT id, %s, 'Kim', 'Client', 'DE', %s FROM brands WHERE code = 'demo'
               RETURNING id""",
            (email, level),
        ).fetchone()
    assert row is not None
    return int(row[0])


def add_officer(db_url: str, email: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO staff_users (email, display_name) VALUES (%s, %s) RETURNING id",
            (email, email.split("@")[0]),
        ).fetchone()
    assert row is not None
    return int(row[0])


def upload_identity(db_url: str, settings: Settings, client_id: int) -> None:
    with psycopg.connect(db_url) as conn:
        store_document(conn, settings, client_id, "passport", "front", "passport.png", PNG, "DE")
        store_document(conn, settings, client_id, "selfie", None, "selfie.png", PNG + b"s")


def submit(db_url: str, settings: Settings, client_id: int) -> str:
    """Send the client's application to the provider; the applicant id."""
    with psycopg.connect(db_url) as conn, KycProvider.from_settings(settings) as provider:
        application = submit_application(conn, settings, provider, client_id)
    assert application.provider_applicant_id is not None
    return application.provider_applicant_id


def drain(db_url: str) -> int:
    """Run the inbox job until it finds nothing; how many rows it handled."""
    handled = 0
    while True:
        with psycopg.connect(db_url) as conn:
            batch = process_inbox(conn)
        if not batch:
            return handled
        handled += batch


def scalar(db_url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def application_of(db_url: str, client_id: int) -> tuple[str, str | None, list[str]]:
    """(status, reject type, reject labels) of the client's latest application."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT status, reject_type, reject_labels FROM kyc_applications
               WHERE client_id = %s ORDER BY id DESC LIMIT 1""",
            (client_id,),
        ).fetchone()
    assert row is not None
    return str(row[0]), row[1], list(row[2])
