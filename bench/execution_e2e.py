"""End-to-end order throughput and latency of the execution service through Redis, with the
group-committed journal: client -> commands stream -> service (core + journal) -> reply.

    uv run python bench/execution_e2e.py [--orders 20000] [--rate 5000] [--runs 3]

Starts an embedded PostgreSQL and Redis (or uses BROKERSTACK_BENCH_DATABASE_URL /
BROKERSTACK_BENCH_REDIS_URL: an admin URL where a database may be created), seeds a fresh
warehouse with a netting group and 200 funded accounts, and runs the service as its own process.
The baseline, measured the same way in the same run, is an echo process that reads the same
stream with the same consumer group, decodes each command and replies with an encoded
`Accepted` (no core, no journal). Each figure is the median of the runs.

Two loads: "saturated" keeps a window of orders in flight (throughput), "paced" offers a fixed
rate (latency at that rate). Market orders of 0.01 lot BTCUSD (always open). ``--mix roundtrip``
(the default) alternates buy and sell per netting account, so every second order closes a
position and books a profit or loss (a balance change and its ledger transfer); ``--mix open``
only buys on hedging accounts, so every order opens a position and moves no money.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import redis

from brokerstack.services import EmbeddedPostgres, EmbeddedRedis
from brokerstack.services.ports import free_port
from brokerstack.streams import COMMAND_FIELD, EXECUTION_GROUP, REPLY_FIELD, REQUESTER_FIELD
from execution import contracts as c
from execution.service.client import CommandClient
from tests.integration.execution.support import (
    create_account,
    create_group,
    start_service,
    stop_service,
)
from warehouse.migrate import upgrade
from warehouse.seed import seed

ACCOUNTS = 200
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figures:
    orders_per_s: float
    p50_ms: float
    p99_ms: float
    accepted: int


# --- the baseline: an echo of the same stream -----------------------------------------------


def echo(redis_url: str, stream: str) -> None:
    """Read commands with the consumer group, answer each with an `Accepted`, acknowledge."""
    client = redis.Redis.from_url(redis_url)
    with suppress(redis.ResponseError):
        client.xgroup_create(stream, EXECUTION_GROUP, id="0", mkstream=True)
    while True:
        response: Any = client.xreadgroup(
            EXECUTION_GROUP, "echo", {stream: ">"}, count=1000, block=50
        )
        if not response:
            continue
        pipe = client.pipeline(transaction=False)
        ids = []
        for entry_id, fields in response[0][1]:
            ids.append(entry_id)
            command = c.decode_command(fields[COMMAND_FIELD])
            reply = c.encode(c.Accepted(request_id=command.request_id))
            requester = fields[REQUESTER_FIELD].decode()
            pipe.xadd(f"replies:{requester}", {REPLY_FIELD: reply})
        pipe.xack(stream, EXECUTION_GROUP, *ids)
        pipe.execute()


# --- the load ---------------------------------------------------------------------------------


class Load:
    """Sends orders and timestamps their replies (a reader thread matches request ids)."""

    def __init__(self, redis_url: str, accounts: list[int], roundtrip: bool = True) -> None:
        self.sender = CommandClient(
            redis.Redis.from_url(redis_url), requester=f"bench-{uuid.uuid4().hex[:6]}"
        )
        self.receiver = CommandClient(
            redis.Redis.from_url(redis_url), requester=self.sender.requester
        )
        self.accounts = accounts
        self.roundtrip = roundtrip
        self.sent: dict[str, int] = {}
        self.latencies: list[int] = []
        self.accepted = 0
        self.done = 0
        self._serial = 0
        self._stop = threading.Event()

    def orders(self, count: int) -> list[c.PlaceOrder]:
        batch = []
        for _ in range(count):
            self._serial += 1
            n = self._serial
            account = self.accounts[n % len(self.accounts)]
            sells = self.roundtrip and (n // len(self.accounts)) % 2 == 1
            side = c.Side.SELL if sells else c.Side.BUY
            batch.append(
                c.PlaceOrder(
                    request_id=f"{self.sender.requester}-{n}", account_id=account,
                    symbol="BTCUSD", side=side, volume=Decimal("0.01"),
                )
            )  # fmt: skip
        return batch

    def send(self, orders: list[c.PlaceOrder]) -> None:
        pipe = self.sender.client.pipeline(transaction=False)
        now = time.perf_counter_ns()
        for order in orders:
            self.sent[order.request_id] = now
            pipe.xadd(
                self.sender.stream,
                {COMMAND_FIELD: c.encode(order), REQUESTER_FIELD: self.sender.requester},
            )
        pipe.execute()

    def read(self) -> None:
        while not self._stop.is_set():
            replies = self.receiver.poll(0.05)
            now = time.perf_counter_ns()
            for reply in replies:
                started = self.sent.get(reply.request_id)
                if started is None:
                    continue
                self.latencies.append(now - started)
                self.accepted += isinstance(reply, c.Accepted)
                self.done += 1

    def run(self, total: int, rate: float | None, window: int = 2000) -> Figures:
        reader = threading.Thread(target=self.read, daemon=True)
        reader.start()
        start = time.perf_counter()
        sent = 0
        while sent < total:
            if rate is None:
                room = window - (sent - self.done)
                if room <= 0:
                    time.sleep(0.0005)
                    continue
                chunk = min(room, 200, total - sent)
            else:
                due = int((time.perf_counter() - start) * rate) + 1
                chunk = min(due - sent, total - sent)
                if chunk <= 0:
                    time.sleep(0.0005)
                    continue
            self.send(self.orders(chunk))
            sent += chunk
        deadline = time.monotonic() + 60
        while self.done < total and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        self._stop.set()
        reader.join()
        ordered = sorted(self.latencies)
        return Figures(
            self.done / elapsed,
            ordered[len(ordered) // 2] / 1e6,
            ordered[int(len(ordered) * 0.99)] / 1e6,
            self.accepted,
        )


# --- the stack under test ---------------------------------------------------------------------


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    import os

    database = os.environ.get("BROKERSTACK_BENCH_DATABASE_URL")
    cache = os.environ.get("BROKERSTACK_BENCH_REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as folder:
        pg = redis_server = None
        if database is None:
            pg = EmbeddedPostgres(Path(folder) / "pgdata", "127.0.0.1", free_port())
            pg.start()
            database = pg.url
        if cache is None:
            redis_server = EmbeddedRedis(Path(folder) / "redis", "127.0.0.1", free_port())
            redis_server.start()
            cache = redis_server.url
        try:
            yield database, cache
        finally:
            if redis_server is not None:
                redis_server.stop()
            if pg is not None:
                pg.stop()


def fresh_warehouse(admin_url: str, mix: str) -> tuple[str, list[int]]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    with psycopg.connect(url) as conn:
        seed(conn)
        mode = "netting" if mix == "roundtrip" else "hedging"
        group = create_group(conn, code=f"bench-{mode}", position_mode=mode)
        accounts = [
            create_account(conn, group, Decimal(1_000_000)).account_id for _ in range(ACCOUNTS)
        ]
    return url, accounts


def measure(
    database_url: str, redis_url: str, accounts: list[int], args: argparse.Namespace, run: int
) -> tuple[Figures, Figures, Figures, Figures]:
    client = redis.Redis.from_url(redis_url)
    results = []
    for kind in ("echo", "service"):
        client.delete("commands:main")
        if kind == "echo":
            process = subprocess.Popen([sys.executable, __file__, "--echo", redis_url], cwd=ROOT)
        else:
            process = start_service(database_url, redis_url, Path(args.log))
        roundtrip = args.mix == "roundtrip"
        warm = Load(redis_url, accounts, roundtrip)
        warm.run(500, None)  # waits until the process answers; also warms the caches
        saturated = Load(redis_url, accounts, roundtrip).run(args.orders, None)
        paced = Load(redis_url, accounts, roundtrip).run(args.orders, args.rate)
        stop_service(process)
        results += [saturated, paced]
        print(f"run {run} {kind}: saturated {saturated}, paced {paced}", flush=True)
    return results[0], results[1], results[2], results[3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=5_000.0, help="paced load, orders/s")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mix", choices=("roundtrip", "open"), default="roundtrip")
    parser.add_argument("--log", default=str(Path(tempfile.gettempdir()) / "execution-e2e.log"))
    parser.add_argument("--echo", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo:
        echo(args.echo, "commands:main")
        return
    with servers() as (admin_url, redis_url):
        database_url, accounts = fresh_warehouse(admin_url, args.mix)
        runs = [measure(database_url, redis_url, accounts, args, n) for n in range(args.runs)]
    median = statistics.median
    labels = ("echo saturated", "echo paced", "service saturated", "service paced")
    figures = {
        label: Figures(
            *(median(getattr(r[i], f) for r in runs) for f in Figures.__dataclass_fields__)
        )
        for i, label in enumerate(labels)
    }
    print(
        f"\nmedians of {args.runs} runs, {args.orders} orders each ({args.mix}), "
        f"paced at {args.rate:.0f}/s"
    )
    for label, f in figures.items():
        print(
            f"  {label:18} {f.orders_per_s:9,.0f} orders/s  p50 {f.p50_ms:6.2f} ms"
            f"  p99 {f.p99_ms:6.2f} ms  accepted {f.accepted:.0f}"
        )
    base, service = figures["echo saturated"], figures["service saturated"]
    print(
        f"  service / echo throughput: {service.orders_per_s / base.orders_per_s:.2f}; "
        f"paced p99 service / echo: "
        f"{figures['service paced'].p99_ms / figures['echo paced'].p99_ms:.1f}x"
    )


if __name__ == "__main__":
    main()
