"""End-to-end orders through HTTP: orders/s and p50/p99, as a ratio against a no-op endpoint.

Run: uv run python bench/api_orders.py [--orders 6000] [--concurrency 64] [--workers 2] [--runs 3]

Starts a private stack (embedded PostgreSQL and Redis), the execution service (its in-process
demo LPs quote and fill) and the api, then sends B-book market orders (BTCUSD, alternating
buy/sell, each with its own
client order id, spread over several accounts) from ``--client-processes`` load processes.
Baseline, same run, same load generator, same worker count: a FastAPI app whose POST endpoint
validates a body like the order's and answers at once. Prints medians over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import psycopg
from fastapi import FastAPI
from pydantic import BaseModel

from bench.api_support import (
    BenchStack,
    KeepAliveConnection,
    api_server,
    bench_stack,
    percentile,
    serving,
)
from brokerstack.services.ports import free_port
from tests.integration.api.support import add_client

SYMBOL = "BTCUSD"
noop_app = FastAPI()


class _Body(BaseModel):
    client_order_id: str
    symbol: str
    side: str
    volume: Decimal


@noop_app.post("/v1/accounts/{account_id}/orders", status_code=201)
async def _noop(account_id: int, body: _Body) -> dict[str, object]:
    return {"account_id": account_id, "client_order_id": body.client_order_id}


async def _load(
    base: str, jobs: list[tuple[int, str, str]], concurrency: int, tag: str
) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue = list(reversed(jobs))

    async def worker() -> None:
        nonlocal failures
        connection = await KeepAliveConnection.open(base)
        while queue:
            n, account, auth = queue.pop()
            body = json.dumps(
                {
                    "client_order_id": f"{tag}-{n}-{account}",
                    "symbol": SYMBOL,
                    "side": "buy" if n % 2 else "sell",
                    "volume": "0.01",
                }
            ).encode()
            started = time.perf_counter()
            status, answer = await connection.post_json(
                f"/v1/accounts/{account}/orders", body, {"Authorization": auth}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 201:
                failures += 1
                if failures <= 3:
                    print(f"answer {status}: {answer[:200]!r}")
        await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


def _load_process(
    args: tuple[str, list[tuple[int, str, str]], int, str],
) -> tuple[list[float], int]:
    return asyncio.run(_load(*args))


def measure(
    base: str, auths: list[tuple[str, str]], orders: int, concurrency: int, processes: int, tag: str
) -> tuple[float, float, float, int]:
    # Order n goes to account n mod A; its side alternates per account (buy, sell, buy, ...).
    jobs = [(n // len(auths), *auths[n % len(auths)]) for n in range(orders)]
    shares = [jobs[i::processes] for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(
            _load_process, [(base, share, concurrency // processes, tag) for share in shares]
        )
    elapsed = time.perf_counter() - started
    latencies = [v for chunk, _ in results for v in chunk]
    failures = sum(f for _, f in results)
    return orders / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99), failures


def _execution_service(stack: BenchStack) -> subprocess.Popen[bytes]:
    """``brokerstack run execution`` with its in-process demo LPs (B-book fills)."""
    log = (stack.folder / "execution.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "brokerstack", "run", "execution", "--ops-port", str(free_port())],
        env=stack.env(BROKERSTACK_EXECUTION_DEMO_QUOTE_INTERVAL="0.05"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_for_price(base: str, auth: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        quotes = httpx.get(
            f"{base}/v1/quotes", params={"symbols": SYMBOL}, headers={"Authorization": auth}
        )
        if quotes.status_code == 200 and quotes.json():
            return
        time.sleep(0.5)
    raise SystemExit("no price for BTCUSD: is the execution service running? see trading.log")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with bench_stack() as stack:
        parties = [
            add_client(stack.database_url, f"bench{i}@example.com", balance=Decimal(10**9))
            for i in range(args.accounts)
        ]
        # The demo group caps orders per account and second (the core answers 429 beyond): lifted
        # so the figure is the stack's throughput, not the configured limit. Netting, so each
        # account's alternating buys and sells open and close one position instead of piling up.
        with psycopg.connect(stack.database_url) as conn:
            conn.execute(
                "UPDATE account_groups SET max_orders_per_second = NULL, position_mode = 'netting'"
                " WHERE code = 'demo-usd'"
            )
        service = _execution_service(stack)
        try:
            argv, port, env = api_server(
                stack,
                args.workers,
                orders_per_second="100000",
                order_burst="100000",
                requests_per_second="100000",
                request_burst="100000",
            )
            noop_port = free_port()
            noop_argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.api_orders:noop_app",
                "--port",
                str(noop_port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ]
            with (
                serving(argv, port, env, stack.folder / "api.log") as base,
                serving(noop_argv, noop_port, env, stack.folder / "noop.log") as noop,
            ):
                auths = []
                for party in parties:
                    token = httpx.post(
                        f"{base}/v1/auth/token",
                        data={"username": party.email, "password": party.password},
                    ).json()
                    auths.append((str(party.account_id), f"Bearer {token['access_token']}"))
                _wait_for_price(base, auths[0][1])
                measure(base, auths, 500, args.concurrency, args.client_processes, "warm")
                api_runs, noop_runs = [], []
                for run in range(args.runs):
                    api_runs.append(
                        measure(
                            base,
                            auths,
                            args.orders,
                            args.concurrency,
                            args.client_processes,
                            f"r{run}",
                        )
                    )
                    noop_runs.append(
                        measure(
                            noop,
                            auths,
                            args.orders,
                            args.concurrency,
                            args.client_processes,
                            f"n{run}",
                        )
                    )
        finally:
            service.terminate()
            service.wait(30)
    report("orders via api", api_runs)
    report("no-op endpoint", noop_runs)
    api_rate = statistics.median(r[0] for r in api_runs)
    noop_rate = statistics.median(r[0] for r in noop_runs)
    print(f"ratio orders/s api / no-op: {api_rate / noop_rate:.2f}")


def report(label: str, runs: list[tuple[float, float, float, int]]) -> None:
    rate = statistics.median(r[0] for r in runs)
    p50 = statistics.median(r[1] for r in runs)
    p99 = statistics.median(r[2] for r in runs)
    failures = sum(r[3] for r in runs)
    print(
        f"{label:16s} {rate:8.0f} /s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"non-201 answers {failures}"
    )


if __name__ == "__main__":
    main()
