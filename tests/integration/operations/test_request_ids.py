"""One order followed across processes by its request id, and the api's own metrics.

Runs the real processes as ``brokerstack up`` does: ``brokerstack run execution`` (its demo
LPs) and ``brokerstack run api`` (two workers), each logging to its own file — the api in JSON
lines, the execution service in plain text — on this test's database and Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from brokerstack.services.ports import free_port
from tests.integration.api.support import Party, add_client
from tests.integration.api.through_stack import SYMBOL, http_login, wait_for_price

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Running:
    base: str
    api_ops: str
    api_log: Path
    execution_log: Path


def _start(process: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "brokerstack", "run", process],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}/ready never answered 200:\n{log.read_text()}")


@pytest.fixture
def running(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[tuple[Running, Party]]:
    del redis_client  # a flushed Redis
    alice = add_client(seeded_db_url, "alice@example.com", balance=Decimal(100_000))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERSTACK_")}
    api_port, api_ops, execution_ops = free_port(), free_port(), free_port()
    env |= {
        "BROKERSTACK_DATABASE_URL": seeded_db_url,
        "BROKERSTACK_REDIS_URL": redis_url,
        "BROKERSTACK_DATA_DIR": str(tmp_path / "data"),
        "BROKERSTACK_API_PORT": str(api_port),
        "BROKERSTACK_API_OPS_PORT": str(api_ops),
        "BROKERSTACK_API_WORKERS": "2",
        "BROKERSTACK_EXECUTION_OPS_PORT": str(execution_ops),
        "BROKERSTACK_EXECUTION_DEMO_QUOTE_INTERVAL": "0.05",
    }
    logs = tmp_path / "execution.log", tmp_path / "api.log"
    execution = _start("execution", env, logs[0])
    api = _start("api", {**env, "BROKERSTACK_LOG_FORMAT": "json"}, logs[1])
    try:
        _until_ready(f"http://127.0.0.1:{execution_ops}", execution, logs[0])
        _until_ready(f"http://127.0.0.1:{api_ops}", api, logs[1])
        yield (
            Running(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{api_ops}", *logs[::-1]),
            alice,
        )
    finally:
        for process in (api, execution):
            process.terminate()
        for process in (api, execution):
            process.wait(30)


def _lines_with(log: Path, *needles: str, timeout: float = 15) -> list[str]:
    """The lines of ``log`` holding every needle (waiting for the process to write them)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines()
        found = [line for line in lines if all(needle in line for needle in needles)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_one_order_is_found_by_its_request_id_in_the_api_and_execution_logs(
    running: tuple[Running, Party],
) -> None:
    stack, alice = running
    headers = http_login(stack.base, alice)
    wait_for_price(stack.base, headers)
    trace = f"order-{uuid.uuid4().hex[:12]}"
    placed = httpx.post(
        f"{stack.base}/v1/accounts/{alice.account_id}/orders",
        headers={**headers, "X-Request-ID": trace},
        json={"client_order_id": "traced-1", "symbol": SYMBOL, "side": "buy", "volume": "0.1"},
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    assert placed.headers["X-Request-ID"] == trace

    api_lines = [json.loads(line) for line in _lines_with(stack.api_log, trace, "api.requests")]
    assert api_lines, stack.api_log.read_text()[-3000:]
    assert all(line["request_id"] == trace for line in api_lines)
    (request_line,) = [line for line in api_lines if line["logger"] == "api.requests"]
    assert request_line["request_id"] == trace
    assert request_line["process_name"] == "api"
    assert request_line["level"] == "INFO"
    assert f"POST /v1/accounts/{alice.account_id}/orders 201" in request_line["message"]

    execution_lines = _lines_with(stack.execution_log, trace)
    assert len(execution_lines) == 1, stack.execution_log.read_text()[-3000:]
    line = execution_lines[0]
    assert f"[{trace}]" in line
    assert "PlaceOrder" in line
    assert f"account {alice.account_id}" in line
    assert " INFO execution " in line


def test_a_client_without_a_request_id_gets_a_fresh_one_and_a_bad_one_is_replaced(
    running: tuple[Running, Party],
) -> None:
    stack, _ = running
    first = httpx.get(f"{stack.base}/v1/instruments")
    second = httpx.get(
        f"{stack.base}/v1/instruments", headers={"X-Request-ID": "bad id; rm -rf /" + "x" * 80}
    )
    ids = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ids) == 2
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_the_api_scrape_counts_requests_by_route_template_across_workers(
    running: tuple[Running, Party],
) -> None:
    stack, alice = running
    headers = http_login(stack.base, alice)
    for _ in range(6):  # several connections: both workers are likely to answer some
        with httpx.Client() as fresh:
            assert fresh.get(f"{stack.base}/v1/accounts/{alice.account_id}", headers=headers)
    scrape = httpx.get(f"{stack.api_ops}/metrics", timeout=10).text
    requests = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(scrape)
        if family.name == "brokerstack_api_requests"
        for sample in family.samples
        if sample.name == "brokerstack_api_requests_total"
    }
    account_route = (
        ("method", "GET"), ("route", "/v1/accounts/{account_id}"), ("status", "200"),
    )  # fmt: skip
    assert requests[account_route] == 6
    routes = {
        sample.labels["route"]
        for family in text_string_to_metric_families(scrape)
        if family.name.startswith("brokerstack_api_")
        for sample in family.samples
    }
    assert "/v1/accounts/{account_id}" in routes
    assert not any(f"/{alice.account_id}" in route for route in routes)  # templates, not paths
    latency = [
        family
        for family in text_string_to_metric_families(scrape)
        if family.name == "brokerstack_api_request_duration_seconds"
    ]
    assert latency
    assert any(
        s.name.endswith("_count") and s.labels.get("route") == "/v1/accounts/{account_id}"
        and s.value == 6
        for s in latency[0].samples
    )  # fmt: skip
    assert httpx.get(f"{stack.base}/health").json() == {"status": "alive"}
    assert httpx.get(f"{stack.base}/ready").json() == {"ready": True}
