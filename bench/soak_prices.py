"""Prices that never stop: a soak of the default stack, measuring for every symbol the share
of seconds in which clients received a fresh price.

    flock /tmp/brokerstack-stack.lock uv run python bench/soak_prices.py [--minutes 20]
    uv run python bench/soak_prices.py --attach redis://127.0.0.1:56379/0 [--minutes 20]

Without ``--attach`` it runs ``brokerstack up`` as an operator would, with its own data folder
under /tmp and free ports for PostgreSQL, Redis and the api; the two LP simulators listen on
the seeded ports 9871-9874, which is why the run takes the stack lock. With ``--attach`` it
only listens to a stack that is already up.

What it listens to, in two threads:
- the client price channels ``quotes:{symbol}`` (what the api's WebSocket fans out): every
  client price and every off/on-quotes state change, counted by the second it arrived in;
- the ticks stream, for the LPs' own quotes: the baseline (seconds in which the LPs quoted the
  symbol at all) and how often one LP's quote crossed the other's latest one.

A second counts as priced when at least one client price of the symbol arrived in it. The
figure per symbol is priced seconds / seconds of the window, and the ratio is that against
the seconds the LPs quoted it (the aggregator's availability against its input's). The run
fails (exit 1) when any symbol is priced in less than ``--min-share`` of the seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import redis

from brokerstack.services.ports import free_port
from brokerstack.streams import QUOTES_CHANNEL, TICK_BATCH_FIELD, TICKS_STREAM, decode_ticks
from execution import contracts as c
from warehouse.reference_data import INSTRUMENTS, LP_SESSIONS

SYMBOLS = [str(row["symbol"]) for row in INSTRUMENTS]
LPS = sorted(LP_SESSIONS)
_NS = 1_000_000_000


@dataclass
class SymbolFigures:
    client_seconds: set[int] = field(default_factory=set)
    lp_seconds: set[int] = field(default_factory=set)
    client_prices: int = 0
    lp_quotes: int = 0
    crossed_lp_quotes: int = 0  # an LP quote crossing the other LP's latest quote
    arrivals: list[int] = field(default_factory=list)  # ns, of client prices, for gaps
    delays_ms: list[float] = field(default_factory=list)  # price time -> arrival
    off_quotes: Counter[str] = field(default_factory=Counter)  # QuoteState reasons seen


class Listener:
    """Collects client prices (pub/sub) and LP quotes (ticks stream) until stopped."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.figures = {symbol: SymbolFigures() for symbol in SYMBOLS}
        self.recording = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._client_prices, daemon=True),
            threading.Thread(target=self._lp_quotes, daemon=True),
        ]
        self._latest: dict[tuple[str, str], tuple[float, float]] = {}  # (symbol, lp) -> book

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _client_prices(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        pubsub.subscribe(*(QUOTES_CHANNEL.format(symbol=s) for s in SYMBOLS))
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            arrived = time.time_ns()
            event = c.decode_event(message["data"])
            figures = self.figures.get(getattr(event, "symbol", ""))
            if figures is None or not self.recording:
                continue
            with self._lock:
                if isinstance(event, c.Tick):
                    figures.client_prices += 1
                    figures.client_seconds.add(arrived // _NS)
                    figures.arrivals.append(arrived)
                    figures.delays_ms.append((arrived - event.time) / 1e6)
                elif isinstance(event, c.QuoteState) and not event.live:
                    figures.off_quotes[event.reason or "?"] += 1
        pubsub.close()

    def _lp_quotes(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        last_id: bytes | str = "$"
        while not self._stop.is_set():
            response: Any = client.xread({TICKS_STREAM: last_id}, count=100, block=200)
            for _, entries in response or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    self._lp_batch(decode_ticks(fields[TICK_BATCH_FIELD]))

    def _lp_batch(self, ticks: list[Any]) -> None:
        for tick in ticks:
            figures = self.figures.get(tick.symbol)
            if figures is None or tick.source not in LPS:
                continue
            self._latest[(tick.symbol, tick.source)] = (tick.bid, tick.ask)
            if not self.recording:
                continue
            others = [
                self._latest[(tick.symbol, lp)]
                for lp in LPS
                if lp != tick.source and (tick.symbol, lp) in self._latest
            ]
            with self._lock:
                figures.lp_quotes += 1
                figures.lp_seconds.add(tick.time_ns // _NS)
                if any(tick.bid > ask or bid > tick.ask for bid, ask in others):
                    figures.crossed_lp_quotes += 1

    def wait_for_prices(self, timeout: float) -> list[str]:
        """Wait until every symbol has a client price; returns the ones still without."""
        client = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        missing = list(SYMBOLS)
        while missing and time.monotonic() < deadline:
            pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            pubsub.subscribe(*(QUOTES_CHANNEL.format(symbol=s) for s in missing))
            end = time.monotonic() + 2
            while time.monotonic() < end:
                message = pubsub.get_message(timeout=0.2)
                if message is not None and isinstance(c.decode_event(message["data"]), c.Tick):
                    symbol = message["channel"].decode().split(":", 1)[1]
                    missing = [s for s in missing if s != symbol]
            pubsub.close()
        return missing


@contextmanager
def default_stack(folder: Path) -> Iterator[str]:
    """``brokerstack up`` with its own data folder and free ports; yields the Redis URL."""
    redis_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERSTACK_")}
    env.update(
        BROKERSTACK_DATA_DIR=str(folder / "data"),
        BROKERSTACK_POSTGRES_PORT=str(free_port()),
        BROKERSTACK_REDIS_PORT=str(redis_port),
        BROKERSTACK_API_PORT=str(free_port()),
    )
    log = folder / "up.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "brokerstack", "up"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(log, process)
        yield f"redis://127.0.0.1:{redis_port}/0"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.returncode not in (0, -signal.SIGINT, 130):
            print(f"brokerstack up exited with {process.returncode}; its log: {log}")


def _wait_until_up(log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while b"press Ctrl-C to stop" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"brokerstack up did not come up; its log:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)


def _longest_gap_s(arrivals: list[int], start: int, end: int) -> float:
    points = [start, *sorted(arrivals), end]
    return max(b - a for a, b in pairwise(points)) / _NS


def _p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def soak(redis_url: str, minutes: float, min_share: float) -> int:
    listener = Listener(redis_url)
    missing = listener.wait_for_prices(timeout=180)
    if missing:
        print(f"no client price within 180 s for {', '.join(missing)}")
    listener.start()
    time.sleep(2)  # both readers subscribed and past their first reads
    listener.recording = True
    start = time.time_ns()
    first_second = start // _NS + 1
    deadline = time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        time.sleep(min(30.0, max(deadline - time.monotonic(), 0.0)))
        done = (time.time_ns() - start) / _NS
        print(f"  {done / 60:5.1f} min: {_progress(listener, first_second)}", flush=True)
    end = time.time_ns()
    listener.recording = False
    listener.stop()
    last_second = end // _NS - 1  # whole seconds only
    seconds = last_second - first_second + 1
    return _report(listener, first_second, last_second, seconds, start, end, min_share)


def _progress(listener: Listener, first_second: int) -> str:
    now = time.time_ns() // _NS
    parts = []
    for symbol, figures in listener.figures.items():
        priced = sum(1 for s in list(figures.client_seconds) if first_second <= s < now)
        parts.append(f"{symbol} {priced / max(now - first_second, 1):.3f}")
    return ", ".join(parts)


def _report(
    listener: Listener,
    first_second: int,
    last_second: int,
    seconds: int,
    start: int,
    end: int,
    min_share: float,
) -> int:
    print(f"\n{seconds} whole seconds measured ({seconds / 60:.1f} min)")
    header = (
        f"{'symbol':8} {'priced s':>9} {'share':>7} {'LP-quoted s':>11} {'ratio':>6} "
        f"{'prices':>8} {'longest gap':>11} {'p99 delay':>9} {'LP quotes':>9} "
        f"{'crossed':>8} {'off quotes':>10}"
    )
    print(header)
    failed = []
    for symbol, f in listener.figures.items():
        window = range(first_second, last_second + 1)
        priced = sum(1 for s in f.client_seconds if s in window)
        quoted = sum(1 for s in f.lp_seconds if s in window)
        share = priced / seconds
        ratio = priced / quoted if quoted else float("nan")
        crossed = f.crossed_lp_quotes / f.lp_quotes if f.lp_quotes else float("nan")
        off = sum(f.off_quotes.values())
        print(
            f"{symbol:8} {priced:9d} {share:7.2%} {quoted:11d} {ratio:6.3f} "
            f"{f.client_prices:8d} {_longest_gap_s(f.arrivals, start, end):10.2f}s "
            f"{_p99(f.delays_ms):7.1f}ms {f.lp_quotes:9d} {crossed:8.2%} {off:10d}"
        )
        if f.off_quotes:
            print(f"         off-quotes reasons: {dict(f.off_quotes)}")
        if share < min_share:
            failed.append(symbol)
    if failed:
        print(f"\nFAIL: under {min_share:.0%} of seconds priced: {', '.join(failed)}")
        return 1
    print(f"\nOK: every symbol priced in at least {min_share:.0%} of seconds")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--attach", metavar="REDIS_URL", help="listen to a stack already up")
    parser.add_argument("--min-share", type=float, default=0.99)
    args = parser.parse_args()
    if args.attach:
        sys.exit(soak(args.attach, args.minutes, args.min_share))
    with tempfile.TemporaryDirectory(prefix="brokerstack-soak-") as tmp:
        print(f"starting brokerstack up in {tmp}", flush=True)
        with default_stack(Path(tmp)) as redis_url:
            print(f"stack up (redis {redis_url}); soaking for {args.minutes:g} min", flush=True)
            code = soak(redis_url, args.minutes, args.min_share)
    sys.exit(code)


if __name__ == "__main__":
    main()
