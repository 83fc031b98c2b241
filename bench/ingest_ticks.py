"""Sustained ticks/s from the Redis ticks stream into the warehouse, against a raw binary COPY.

Run: uv run python bench/ingest_ticks.py [--ticks 2000000] [--per-entry 100] [--runs 5]

Starts an embedded PostgreSQL and Redis (as the tests do), migrates a fresh database, and per
run measures, on the same rows into the same ``ticks`` table (truncated before each):

* baseline: one binary COPY (psycopg ``write_row`` with ``set_types``) of the ticks already
  in memory as rows — no Redis, no decoding, no bookkeeping;
* COPY of ready tuples: one binary COPY of the same ticks already encoded as COPY tuples
  (what the stream entries carry), written as one block — the server's share alone;
* writer: the tick writer draining a backlog of the same ticks from the stream (XREADGROUP,
  header checks, COPY of the entries' tuples, ``stream_entries`` / ``stream_offsets`` in the
  same transaction, XACK, trim) on two connections, one batch COPYing while the previous
  commits; CPU counts both backends; candle maintenance off — production TimescaleDB keeps
  candles by policy;
* writer + candles: the same with the rollup-candle refresh the plain path runs;
* 2 writer processes: two ``brokerstack run tick-writer`` side by side (one consumer group),
  timed from the first XADD of the backlog to the last acknowledgement, once both are ready.

Prints medians over the runs and the ratios to the baseline: of the medians, and the median
of each run's ratio (steadier on a machine shared with other work).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import redis

from brokerstack.services import EmbeddedPostgres, EmbeddedRedis
from brokerstack.services.ports import free_port
from brokerstack.streams import (
    TICK_BATCH_HEADER,
    TICK_WRITERS_GROUP,
    TICKS_STREAM,
    Tick,
    decode_ticks,
    encode_ticks,
)
from brokerstack.supervisor import brokerstack_run, ready_failures
from ingest.tick_sink import COPY_SIGNATURE, COPY_TICKS, COPY_TRAILER, PG_EPOCH_US, TICK_TYPES
from ingest.ticks import tick_writer
from ingest.writer import WriterOptions
from warehouse.db import connect
from warehouse.migrate import upgrade

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500", "BTCUSD")
SOURCES = ("lp-alpha", "lp-beta", "client:std", "client:pro")
VARIANTS = ("baseline", "COPY of ready tuples", "writer", "writer+candles", "2 writer processes")


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="brokerstack-bench-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pgdata", "127.0.0.1", free_port())
        cache = EmbeddedRedis(Path(folder) / "redis", "127.0.0.1", free_port())
        postgres.start()
        cache.start()
        try:
            with psycopg.connect(postgres.url, autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = postgres.url.rsplit("/", 1)[0] + "/bench"
            upgrade(url)
            yield url, cache.url
        finally:
            cache.stop()
            postgres.stop()


def make_ticks(count: int) -> list[Tick]:
    start = datetime.now(UTC) - timedelta(hours=2)
    start_ns = int(start.timestamp()) * 1_000_000_000
    return [
        Tick(
            start_ns + i * 5_000_000 // 1000 * 1000,  # 200 per second of market time
            SYMBOLS[i % len(SYMBOLS)],
            SOURCES[i % len(SOURCES)],
            1.0 + (i % 997) * 1e-5,
            1.0002 + (i % 997) * 1e-5,
        )
        for i in range(count)
    ]


def reset(url: str, client: redis.Redis) -> None:
    client.flushdb()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE ticks, stream_entries, stream_offsets, candle_refresh_queue, "
            "candles_1m, candles_1h, candles_1d"
        )
        conn.execute("VACUUM ANALYZE ticks")


@dataclass(frozen=True)
class Figure:
    ticks_per_second: float
    cpu_us_per_tick: float  # this process + its PostgreSQL backend + the Redis server


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(client: redis.Redis, *conns: psycopg.Connection[Any]) -> float:
    """CPU used so far by this process, the connections' backends and the Redis server."""
    backends = 0.0
    for conn in conns:
        stat = Path(f"/proc/{conn.info.backend_pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        backends += (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime
    info = client.info("cpu")
    redis_cpu = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return time.process_time() + backends + redis_cpu


def baseline(
    url: str, client: redis.Redis, rows: list[tuple[int, str, str, float, float]]
) -> Figure:
    with psycopg.connect(url) as conn:
        cpu = _cpu_seconds(client, conn)
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(COPY_TICKS) as copy:
            copy.set_types(TICK_TYPES)
            deque(map(copy.write_row, rows), maxlen=0)  # as the writer drives it
        conn.commit()
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(client, conn) - cpu
    return Figure(len(rows) / elapsed, cpu / len(rows) * 1e6)


def ready_tuples(url: str, client: redis.Redis, entries: list[bytes], total: int) -> Figure:
    header = TICK_BATCH_HEADER.size
    data = b"".join([COPY_SIGNATURE, *(entry[header:] for entry in entries), COPY_TRAILER])
    with psycopg.connect(url) as conn:
        cpu = _cpu_seconds(client, conn)
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(COPY_TICKS) as copy:
            copy.write(data)
        conn.commit()
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(client, conn) - cpu
    return Figure(total / elapsed, cpu / total * 1e6)


def writer(
    url: str, client: redis.Redis, entries: list[bytes], total: int, candles: bool
) -> Figure:
    pipe = client.pipeline(transaction=False)
    for i, payload in enumerate(entries):
        pipe.xadd(TICKS_STREAM, {b"b": payload})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    with connect(url, autocommit=True) as conn, connect(url, autocommit=True) as spare:
        options = WriterOptions(batch_entries=1000, block_ms=10)
        loader = tick_writer(conn, client, "bench", options, candles=candles, spare=spare)
        cpu = _cpu_seconds(client, conn, spare)
        started = time.perf_counter()
        loader.run(lambda: loader.metrics.rows_total >= total)
        loader.housekeeping()  # the last trim and candle refresh belong to the work
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(client, conn, spare) - cpu
    assert client.xpending(TICKS_STREAM, TICK_WRITERS_GROUP)["pending"] == 0
    return Figure(total / elapsed, cpu / total * 1e6)


def writer_processes(
    url: str, redis_url: str, client: redis.Redis, entries: list[bytes], count: int
) -> Figure:
    env = {**os.environ, "BROKERSTACK_DATABASE_URL": url, "BROKERSTACK_REDIS_URL": redis_url}
    ports = {f"bench-{i}": free_port() for i in range(count)}
    options = ("--no-candles", "--batch-entries", "1000")
    processes = [
        subprocess.Popen(
            brokerstack_run("tick-writer", "--consumer", name, *options, "--ops-port", str(port)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, port in ports.items()
    ]
    try:
        while any(ready_failures(f"http://127.0.0.1:{port}", 1) for port in ports.values()):
            time.sleep(0.05)
        started = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        last = b""
        for i, payload in enumerate(entries):
            pipe.xadd(TICKS_STREAM, {b"b": payload})
            if i % 1000 == 999 or i == len(entries) - 1:
                last = pipe.execute()[-1]
        while True:
            group = client.xinfo_groups(TICKS_STREAM)[0]
            if group["last-delivered-id"] == last and group["pending"] == 0:
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
    return Figure(len(entries) * len(decode_ticks(entries[0])) / elapsed, math.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2_000_000)
    parser.add_argument("--per-entry", type=int, default=100, help="ticks per stream entry")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    ticks = make_ticks(args.ticks)
    rows = [(t.time_ns // 1000 - PG_EPOCH_US, t.symbol, t.source, t.bid, t.ask) for t in ticks]
    step = args.per_entry
    entries = [encode_ticks(ticks[i : i + step]) for i in range(0, len(ticks), step)]
    del ticks
    gc.collect()
    gc.freeze()
    figures: dict[str, list[Figure]] = {name: [] for name in VARIANTS}
    with servers() as (url, redis_url):
        client = redis.Redis.from_url(redis_url)
        for run in range(1, args.runs + 1):
            reset(url, client)
            figures["baseline"].append(baseline(url, client, rows))
            reset(url, client)
            figures["COPY of ready tuples"].append(ready_tuples(url, client, entries, len(rows)))
            reset(url, client)
            figures["writer"].append(writer(url, client, entries, len(rows), candles=False))
            reset(url, client)
            figures["writer+candles"].append(writer(url, client, entries, len(rows), candles=True))
            reset(url, client)
            figures["2 writer processes"].append(
                writer_processes(url, redis_url, client, entries, 2)
            )
            print(
                f"run {run}: "
                + ", ".join(
                    f"{name} {values[-1].ticks_per_second:,.0f}/s"
                    for name, values in figures.items()
                ),
                flush=True,
            )
        client.close()
    rate = {name: statistics.median(f.ticks_per_second for f in v) for name, v in figures.items()}
    cpu = {name: statistics.median(f.cpu_us_per_tick for f in v) for name, v in figures.items()}
    print(f"ticks {len(rows):,} in entries of {step}, median of {args.runs} runs:")
    print(
        f"  {'':<20} {'ticks/s':>12}   {'ratio':>5}   {'per run':>7}"
        "   CPU us/tick (client+postgres+redis)"
    )
    for name in VARIANTS:
        ratio = rate[name] / rate["baseline"]
        per_run = statistics.median(
            f.ticks_per_second / b.ticks_per_second
            for f, b in zip(figures[name], figures["baseline"], strict=True)
        )
        cost = "-" if math.isnan(cpu[name]) else f"{cpu[name]:.2f}"
        print(f"  {name:<20} {rate[name]:>12,.0f}   {ratio:>5.2f}   {per_run:>7.2f}   {cost}")


if __name__ == "__main__":
    main()
