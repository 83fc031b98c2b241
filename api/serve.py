"""``brokerstack run api``: the api's uvicorn workers behind one port, and its operations port.

With several workers, prometheus-client's multiprocess mode keeps each worker's metrics in
files under the data folder (cleared at every start), and the operations port (served by the
parent process) adds them up: one scrape address for every worker. Its ``/ready`` asks the
api's own ``/ready``, which checks PostgreSQL, Redis and the execution service.
"""

from __future__ import annotations

import logging
import os
import shutil
import urllib.error
import urllib.request

import uvicorn
from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from api.app import create_app
from brokerstack.logs import setup_logging
from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings, load_settings

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def serve(settings: Settings, ops_port: int | None = None) -> int:
    """Serve until SIGTERM / SIGINT (uvicorn stops its workers); 0 when stopped."""
    config = settings.api
    url = f"http://{settings.host}:{settings.api_port}"
    registry = REGISTRY
    if config.workers > 1:
        folder = settings.data_path / "run" / "prometheus-api"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ[MULTIPROCESS_DIR] = str(folder)  # the workers import prometheus-client anew
        registry = _workers_registry()
    readiness = Readiness(checks={"api": lambda: _api_ready(url)})
    ops = OpsServer(settings.host, ops_port or config.ops_port, readiness, registry).start()
    try:
        uvicorn.run(
            "api.serve:worker_app",
            factory=True,
            host=settings.host,
            port=settings.api_port,
            workers=config.workers,
            log_config=None,  # every worker logs through brokerstack.logs
            access_log=False,  # the api logs each request itself, with its request id
            proxy_headers=False,
            # Quotes are ~100-byte frames: compressing each costs more CPU than it saves bytes.
            ws_per_message_deflate=False,
        )
    finally:
        ops.stop()
    return 0


def worker_app() -> FastAPI:
    """What each uvicorn worker runs (a fresh interpreter when there are several)."""
    settings = load_settings()
    setup_logging("api", settings.log)
    # the api's own line per request (with its id and time taken) replaces uvicorn's
    logging.getLogger("uvicorn.access").disabled = True
    return create_app(settings)


def _workers_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _api_ready(url: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=3) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        return f"{url}/ready answered {exc.code}: {exc.read().decode(errors='replace')[:300]}"
    except (urllib.error.URLError, OSError) as exc:
        return f"no answer at {url} ({getattr(exc, 'reason', exc)})"
    return None
