"""The two LP simulators ``brokerstack up`` runs, as real processes started seconds apart and
read over FIX by the bridge: they quote one market, so their books never cross and their
mids stay the configured offsets apart."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from brokerstack.services.ports import wait_for_port
from brokerstack.settings import Settings
from execution.inbox import LpQuote
from execution.lpsim.processes import lp_simulator_processes
from tests.integration.fix.conftest import Stack

DIGITS = {"EURUSD": 5, "XAUUSD": 2}
# alpha quotes mid + round(0.2 s) at round(1.25 s) wide, beta mid + round(-0.1 s) at
# round(0.75 s) (processes.QUOTING) with typical spreads s of 8 and 30 points (feeds.py):
# EURUSD alpha mid + 2 (10 wide), beta mid - 1 (6 wide); XAUUSD alpha + 6 (38), beta - 3 (22)
MID_GAP = {"EURUSD": 3, "XAUUSD": 9}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(20)


def _points(price: Decimal, symbol: str) -> int:
    return int(price.scaleb(DIGITS[symbol]))


def test_stack_simulators_started_apart_quote_one_market(
    processes: list[subprocess.Popen[bytes]],  # first: stopped after the bridge
    stack_factory: Callable[[list[str]], Stack],
    tmp_path: Path,
) -> None:
    stack = stack_factory(["lp-alpha", "lp-beta"])
    ports = {name: (lp.quote_port, lp.trade_port) for name, lp in stack.lps.items()}
    specs = lp_simulator_processes(Settings(data_dir=tmp_path / "data"), {}, ports)
    stack.journal.start()
    stack.bridge.start()
    for spec in specs:  # alpha quotes alone for 4 s (80 steps of its market) before beta starts
        processes.append(subprocess.Popen(spec.argv, stdout=subprocess.DEVNULL))
        wait_for_port("127.0.0.1", ports[spec.name][1], 30, spec.name)
        time.sleep(4)

    latest: dict[tuple[str, str], tuple[int, int, int]] = {}  # (lp, symbol) -> bid, ask, time
    crossed: list[tuple[str, int, int, int, int]] = []
    gaps: dict[str, list[int]] = {symbol: [] for symbol in DIGITS}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and min(len(g) for g in gaps.values()) < 100:
        for item in stack.inbox.take(0.1, 1000):
            if not isinstance(item, LpQuote) or item.symbol not in DIGITS:
                continue
            symbol = item.symbol
            bid, ask = _points(item.bid, symbol), _points(item.ask, symbol)
            latest[(item.lp, symbol)] = (bid, ask, item.time_ns)
            other = "lp-beta" if item.lp == "lp-alpha" else "lp-alpha"
            if (other, symbol) not in latest:
                continue
            other_bid, other_ask, other_time = latest[(other, symbol)]
            if bid > other_ask or other_bid > ask:
                crossed.append((symbol, bid, ask, other_bid, other_ask))
            if item.lp == "lp-beta" and item.time_ns - other_time < 60_000_000:
                alpha_mid2 = other_bid + other_ask
                gaps[symbol].append((alpha_mid2 - bid - ask) // 2)
    assert min(len(g) for g in gaps.values()) >= 100, "the LPs did not both quote"
    assert crossed == []
    for symbol, expected in MID_GAP.items():
        assert abs(statistics.median(gaps[symbol]) - expected) <= 1, (symbol, gaps[symbol])
