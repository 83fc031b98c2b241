"""A private stack for the api benchmarks: embedded PostgreSQL and Redis in a temp folder,
the warehouse migrated and seeded, clients with accounts, and processes serving the api."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from brokerstack.services import EmbeddedPostgres, EmbeddedRedis
from brokerstack.services.ports import free_port, wait_for_port
from warehouse.migrate import upgrade
from warehouse.seed import seed


@dataclass(frozen=True)
class BenchStack:
    database_url: str
    redis_url: str
    folder: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "BROKERSTACK_DATABASE_URL": self.database_url,
            "BROKERSTACK_REDIS_URL": self.redis_url,
            "BROKERSTACK_DATA_DIR": str(self.folder),
            **extra,
        }


@contextmanager
def bench_stack() -> Iterator[BenchStack]:
    with tempfile.TemporaryDirectory(prefix="brokerstack-bench-api-") as tmp:
        folder = Path(tmp)
        postgres = EmbeddedPostgres(folder / "pgdata", "127.0.0.1", free_port())
        redis_server = EmbeddedRedis(folder / "redis", "127.0.0.1", free_port())
        postgres.start()
        redis_server.start()
        try:
            upgrade(postgres.url)
            with psycopg.connect(postgres.url) as conn:
                seed(conn)
            yield BenchStack(postgres.url, redis_server.url, folder)
        finally:
            redis_server.stop()
            postgres.stop()


@contextmanager
def serving(argv: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[str]:
    """Run a server process until the block ends; yields its base URL."""
    with log.open("ab") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, 60, argv[-1])
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def api_server(
    stack: BenchStack, workers: int, **settings: str
) -> tuple[list[str], int, dict[str, str]]:
    port = free_port()
    env = stack.env(
        BROKERSTACK_API_WORKERS=str(workers),
        BROKERSTACK_API_PORT=str(port),
        BROKERSTACK_API_OPS_PORT=str(free_port()),
        BROKERSTACK_API_SIGNING_KEY="bench-" + "k" * 32,
        **{f"BROKERSTACK_API_{k.upper()}": v for k, v in settings.items()},
    )
    return [sys.executable, "-m", "brokerstack", "run", "api"], port, env


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class KeepAliveConnection:
    """A minimal HTTP/1.1 client on one kept-alive connection.

    httpx's async pool slows down as concurrency grows (about 170 requests/s at 32 concurrent
    requests on this machine, below one connection's rate), which would measure the load
    generator instead of the server; this speaks just enough HTTP for JSON POSTs.
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, base_url: str) -> KeepAliveConnection:
        parts = urlsplit(base_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post_json(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        )
        self._writer.write(head.encode() + body)
        status_line = await self._reader.readline()
        status = int(status_line.split()[1])
        length = 0
        chunked = False
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self._reader.readexactly(length)
        chunks: list[bytes] = []
        while True:
            size = int((await self._reader.readline()).strip(), 16)
            chunk = await self._reader.readexactly(size + 2)
            if size == 0:
                return status, b"".join(chunks)
            chunks.append(chunk[:-2])

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
