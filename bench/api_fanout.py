"""WebSocket fan-out: 1,000 sockets on 10 symbols, tick-to-client latency p50/p99.

Run: uv run python bench/api_fanout.py [--sockets 1000] [--symbols 10] [--rate 20] [--seconds 10]

Ticks are published to Redis exactly as the execution service publishes them (``quotes:{symbol}``
pub/sub); each socket subscribes to one symbol. Latency is the time from the publish (the tick's
own timestamp) to its arrival at the client. Baseline, same run: one plain Redis pub/sub
subscriber on the same channels (what a client would see with no api in between).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import redis.asyncio as aioredis
import websockets
from psycopg import sql

from api.quotes import last_quote_field
from bench.api_support import api_server, bench_stack, percentile, serving
from brokerstack.streams import LAST_QUOTES_HASH, QUOTES_CHANNEL
from execution import contracts
from tests.integration.api.support import add_client

SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500", "BTCUSD"]


async def publisher(
    redis_url: str, group: str, symbols: list[str], rate: float, seconds: float
) -> int:
    client = aioredis.Redis.from_url(redis_url)
    sent = 0
    deadline = time.monotonic() + seconds
    price = Decimal("1.10000")
    # Ticks spread evenly over time, symbol after symbol, as independent feeds arrive.
    pause = 1 / (rate * len(symbols))
    while time.monotonic() < deadline:
        for symbol in symbols:
            price += Decimal("0.00001")
            tick = contracts.Tick(
                group=group,
                symbol=symbol,
                bid=price,
                ask=price + Decimal("0.0002"),
                time=time.time_ns(),
            )
            data = contracts.encode(tick)
            await client.hset(LAST_QUOTES_HASH, last_quote_field(group, symbol), data)
            await client.publish(QUOTES_CHANNEL.format(symbol=symbol), data)
            sent += 1
            await asyncio.sleep(pause)
    await client.aclose()
    return sent


async def socket_client(
    url: str,
    symbol: str,
    latencies: list[float],
    ready: asyncio.Event,
    counter: list[int],
    total: int,
    stop: asyncio.Event,
) -> None:
    async with websockets.connect(url, max_queue=None) as ws:
        await ws.send(json.dumps({"action": "subscribe", "quotes": [symbol]}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        counter[0] += 1
        if counter[0] == total:
            ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time_ns()
            message = json.loads(raw)
            if message["type"] == "quote":
                latencies.append((now - message["time_ns"]) / 1e6)


async def redis_baseline(
    redis_url: str,
    symbols: list[str],
    latencies: list[float],
    stop: asyncio.Event,
    ready: asyncio.Event,
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(*[QUOTES_CHANNEL.format(symbol=s) for s in symbols])
    ready.set()
    while not stop.is_set():
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is None:
            continue
        now = time.time_ns()
        event = contracts.decode_event(message["data"])
        assert isinstance(event, contracts.Tick)
        latencies.append((now - event.time) / 1e6)
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    await client.aclose()


async def clients_run(
    url: str, symbols: list[str], first: int, count: int, ready_file: str, seconds: float
) -> list[float]:
    latencies: list[float] = []
    ready, stop = asyncio.Event(), asyncio.Event()
    counter = [0]
    tasks = [
        asyncio.create_task(
            socket_client(
                url, symbols[(first + i) % len(symbols)], latencies, ready, counter, count, stop
            )
        )
        for i in range(count)
    ]
    await asyncio.wait_for(ready.wait(), 120)
    open(ready_file, "w").close()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


def client_process(args: tuple[str, list[str], int, int, str, float]) -> list[float]:
    return asyncio.run(clients_run(*args))


async def publish_and_watch(
    redis_url: str, group: str, symbols: list[str], args: argparse.Namespace
) -> tuple[int, list[float]]:
    baseline: list[float] = []
    ready, stop = asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(redis_baseline(redis_url, symbols, baseline, stop, ready))
    await ready.wait()
    sent = await publisher(redis_url, group, symbols, args.rate, args.seconds)
    await asyncio.sleep(1)
    stop.set()
    await watcher
    return sent, baseline


def bench_symbols(count: int) -> list[str]:
    return [SYMBOLS[i % len(SYMBOLS)] + ("" if i < len(SYMBOLS) else str(i)) for i in range(count)]


def list_instruments(database_url: str, symbols: list[str]) -> None:
    """Symbols beyond the seeded ones become instruments (copies of EURUSD): the api refuses
    to subscribe a symbol it does not list."""
    with psycopg.connect(database_url) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'instruments' AND column_name NOT IN ('id', 'symbol')"
            )
        ]
        listed = sql.SQL(", ").join(map(sql.Identifier, columns))
        for symbol in symbols:
            conn.execute(
                sql.SQL(
                    "INSERT INTO instruments (symbol, {cols}) SELECT %s, {cols} FROM instruments"
                    " WHERE symbol = 'EURUSD' ON CONFLICT (symbol) DO NOTHING"
                ).format(cols=listed),
                (symbol,),
            )


def run(
    base: str, redis_url: str, token: str, group: str, args: argparse.Namespace, folder: Path
) -> None:
    symbols = bench_symbols(args.symbols)
    url = base.replace("http", "ws") + f"/v1/stream?access_token={token}"
    share = args.sockets // args.client_processes
    jobs = [
        (url, symbols, i * share, share, str(folder / f"ready{i}"), args.seconds + 3)
        for i in range(args.client_processes)
    ]
    with multiprocessing.Pool(args.client_processes) as pool:
        pending = pool.map_async(client_process, jobs)
        while not all(Path(job[4]).exists() for job in jobs):
            time.sleep(0.1)
        sent, baseline = asyncio.run(publish_and_watch(redis_url, group, symbols, args))
        latencies = [v for chunk in pending.get(300) for v in chunk]
    sockets = share * args.client_processes
    expected = sent * sockets // len(symbols)
    print(
        f"sockets {sockets} in {args.client_processes} client processes, symbols "
        f"{len(symbols)}, ticks published {sent}, quotes delivered {len(latencies)} of "
        f"{expected} (fewer means conflated for a slow socket)"
    )
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    b50, b99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
    print(f"api tick-to-client   p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")
    print(f"redis pub/sub direct p50 {b50:7.2f} ms  p99 {b99:7.2f} ms")
    print(f"ratio p99 api / direct: {p99 / b99:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="ticks per second per symbol")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client-processes", type=int, default=2)
    args = parser.parse_args()
    with bench_stack() as stack:
        party = add_client(stack.database_url, "fanout@example.com")
        list_instruments(stack.database_url, bench_symbols(args.symbols))
        argv, port, env = api_server(stack, args.workers)
        with serving(argv, port, env, stack.folder / "api.log") as base:
            token = httpx.post(
                f"{base}/v1/auth/token", data={"username": party.email, "password": party.password}
            ).json()["access_token"]
            run(base, stack.redis_url, token, party.group, args, stack.folder)


if __name__ == "__main__":
    main()
