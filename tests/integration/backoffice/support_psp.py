"""What the PSP tests share: a simulator served by uvicorn on a thread, the client's token, the
worker's round over the inbox, and balances as plain sums over ``ledger_entries``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D

import httpx
import psycopg
import uvicorn
from fastapi import FastAPI

from backoffice.payments.processing import process_inbox
from backoffice.payments.providers import providers
from brokerstack.settings import Settings
from tests.integration.api.support import Party


@contextmanager
def served(app: FastAPI, port: int) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def token(api: str, party: Party) -> dict[str, str]:
    response = httpx.post(f"{api}/v1/auth/token",
                          data={"username": party.email, "password": party.password})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_delivered(sim: str, count: int) -> None:
    """Until the simulator has ``count`` deliveries answered 200 and nothing queued."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = httpx.get(f"{sim}/_sim/deliveries").json()
        if log["idle"] and sum(1 for d in log["deliveries"] if d["status"] == 200) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"webhooks not delivered: {log}")


def apply_events(settings: Settings, db_url: str) -> None:
    known = providers(settings)
    with psycopg.connect(db_url) as conn:
        process_inbox(conn, known)
    for provider in known.values():
        provider.close()


def account_sum(db_url: str, code: str) -> D:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
               JOIN ledger_accounts a ON a.id = e.ledger_account_id WHERE a.code = %s""",
            (code,),
        ).fetchone()
    assert row is not None
    return D(row[0])


def wallet_balance(db_url: str, client_id: int, currency: str = "USD") -> D:
    return -account_sum(db_url, f"client:{client_id}:wallet:{currency}")
