"""The api served by a real uvicorn on a free port, in a thread of the test process, and the
trading processes behind it (simulated LPs and the execution service)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from api.app import create_app
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from tests.integration.execution.support import start_service, stop_service


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """Run the app until the block ends; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the api did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def trading_processes(db_url: str, redis_url: str, folder: Path) -> Iterator[None]:
    """``brokerstack run execution`` on this database and Redis (its in-process demo LPs
    quote and fill)."""
    process = start_service(
        db_url, redis_url, folder / "execution.log", BROKERSTACK_DATA_DIR=str(folder)
    )
    try:
        yield
    finally:
        stop_service(process)
