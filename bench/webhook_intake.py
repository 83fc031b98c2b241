"""KYC webhook intake per second (digest check on the raw body + one inbox insert, committed
before the answer) through the real api route, as a ratio against a no-op endpoint of the same
app in the same run.

Run: .venv/bin/python -m bench.webhook_intake [--requests 800] [--concurrency 16] [--runs 3]

Starts a private warehouse and Redis, then the api's app under uvicorn (one process) with one
extra routes: ``POST /bench/noop`` reads the body and answers 200 (the baseline), and
``POST /bench/noop-sync`` does the same as a sync route, to show what the threadpool hop every
sync back-office route takes costs by itself. Each request carries a
distinct Sumsub-shaped event signed with the webhook secret, so every intake request is a new
inbox row. Prints the medians over the runs (no-op and intake alternate within each run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid

from fastapi import FastAPI, Request, Response

from api.routers.webhooks import RawBody
from bench.api_support import BenchStack, KeepAliveConnection, bench_stack, serving
from brokerstack.services.ports import free_port
from brokerstack.settings import BackofficeSettings

WEBHOOK = "/v1/webhooks/kyc/sumsub"
NOOP = "/bench/noop"
NOOP_SYNC = "/bench/noop-sync"


def bench_app() -> FastAPI:
    """The api's app (settings from the environment) plus the no-op baseline route."""
    from api.app import create_app

    app = create_app()

    @app.post(NOOP, include_in_schema=False)
    async def noop(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.post(NOOP_SYNC, include_in_schema=False)
    def noop_sync(body: RawBody) -> Response:
        # the same body read, then the threadpool hop every sync back-office route takes
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app


def signed_events(count: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    from backoffice.kyc import signatures

    secret = BackofficeSettings().kyc_webhook_secret.get_secret_value()
    events = []
    for n in range(count):
        body = json.dumps({
            "applicantId": uuid.uuid4().hex[:24], "inspectionId": uuid.uuid4().hex[:24],
            "correlationId": f"req-{tag}-{n}", "externalUserId": str(n),
            "levelName": "identity verified", "type": "applicantPending",
            "reviewStatus": "pending", "createdAtMs": "2026-03-02 09:00:00.000",
        }, separators=(",", ":")).encode()  # fmt: skip
        headers = {
            signatures.DIGEST_HEADER: signatures.payload_digest(secret, body),
            signatures.DIGEST_ALG_HEADER: signatures.DEFAULT_DIGEST_ALG,
        }
        events.append((body, headers))
    return events


async def _load(
    base: str, path: str, events: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> float:
    """Requests per second answered 200 over ``concurrency`` kept-alive connections."""
    queue = list(reversed(events))
    failures = 0

    async def connection() -> None:
        nonlocal failures
        http = await KeepAliveConnection.open(base)
        try:
            while queue:
                body, headers = queue.pop()
                status, _ = await http.post_json(path, body, headers)
                failures += status != 200
        finally:
            await http.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{failures} requests to {path} failed")
    return len(events) / elapsed


def _run(stack: BenchStack, requests: int, concurrency: int, runs: int) -> None:
    port = free_port()
    env = stack.env(BROKERSTACK_API_SIGNING_KEY="bench-" + "k" * 32)
    argv = [sys.executable, "-m", "uvicorn", "bench.webhook_intake:bench_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--no-access-log"]  # fmt: skip
    noop, noop_sync, intake = [], [], []
    with serving(argv, port, env, stack.folder / "api.log") as base:
        asyncio.run(_load(base, NOOP, signed_events(200, "warm"), concurrency))
        asyncio.run(_load(base, WEBHOOK, signed_events(200, "warm"), concurrency))
        for run in range(runs):
            noop.append(asyncio.run(_load(base, NOOP, signed_events(requests, "n"), concurrency)))
            noop_sync.append(
                asyncio.run(_load(base, NOOP_SYNC, signed_events(requests, "s"), concurrency))
            )
            events = signed_events(requests, f"run{run}")
            intake.append(asyncio.run(_load(base, WEBHOOK, events, concurrency)))
            print(f"run {run + 1}: no-op {noop[-1]:,.0f}/s, sync no-op {noop_sync[-1]:,.0f}/s, "
                  f"intake {intake[-1]:,.0f}/s, ratio {intake[-1] / noop[-1]:.2f}")  # fmt: skip
    median_noop, median_intake = statistics.median(noop), statistics.median(intake)
    median_sync = statistics.median(noop_sync)
    print(f"no-op endpoint: {median_noop:,.0f} requests/s (median of {runs})")
    print(f"sync no-op endpoint (threadpool): {median_sync:,.0f} requests/s")
    print(f"webhook intake: {median_intake:,.0f} events/s (median of {runs})")
    print(f"ratio intake / no-op: {median_intake / median_noop:.2f} (aim >= 0.5)")
    print(f"ratio intake / sync no-op: {median_intake / median_sync:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with bench_stack() as stack:
        _run(stack, args.requests, args.concurrency, args.runs)


if __name__ == "__main__":
    main()
