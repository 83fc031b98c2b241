"""Liquidity for the demo and the tests when no FIX LP is configured: in-process LPs that fill
at their own price, fed by a random-walk quote generator.

`InProcessGateway` is the `LpGateway` the service sends journaled LP orders to; the LP's
reports come back through the inbox like a FIX session's would.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from execution.inbox import Inbox, LpExecution, LpQuote
from execution.instruments import Instrument
from execution.lp import InProcessLp, LpOrder

# Where the walk starts for the seeded symbols; others start at 100.
_START = {
    "EURUSD": "1.08500",
    "GBPUSD": "1.27000",
    "USDJPY": "151.200",
    "XAUUSD": "2350.00",
    "US500": "5200.00",
    "BTCUSD": "64000.00",
}
_STEP = Decimal("0.0001")  # relative size of one random-walk step
_SPREAD = Decimal("0.00005")  # relative LP spread


class InProcessGateway:
    """Sends to in-process LPs by name and hands their reports to the inbox."""

    def __init__(self, lps: dict[str, InProcessLp], inbox: Inbox) -> None:
        self.lps = lps
        self.inbox = inbox

    def send(self, order: LpOrder) -> None:
        lp = self.lps[order.lp]
        lp.send(order)
        now = time.time_ns()
        for report in lp.drain():
            self.inbox.put(LpExecution(order.lp, report, now))


class RandomWalkQuotes:
    """A thread quoting every instrument from every LP a few times a second."""

    def __init__(
        self,
        lps: dict[str, InProcessLp],
        instruments: Iterable[Instrument],
        inbox: Inbox,
        interval: float = 0.25,
        seed: int | None = None,
    ) -> None:
        self.lps = lps
        self.inbox = inbox
        self.interval = interval
        self._random = random.Random(seed)  # noqa: S311 - a price walk, not a secret
        self._mids = {i.symbol: (Decimal(_START.get(i.symbol, "100")), i) for i in instruments}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-quotes", daemon=True)

    def start(self) -> None:
        self.tick()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> None:
        """One quote per LP and symbol, after one step of each symbol's walk."""
        now = time.time_ns()
        for symbol, (mid, instrument) in list(self._mids.items()):
            mid *= 1 + _STEP * Decimal(self._random.choice((-1, 0, 1)))
            self._mids[symbol] = (mid, instrument)
            grid = Decimal(1).scaleb(-instrument.digits)
            for rank, (name, lp) in enumerate(self.lps.items()):
                half = max(mid * _SPREAD * (1 + rank), grid)
                bid = (mid - half).quantize(grid, ROUND_HALF_UP)
                ask = (mid + half).quantize(grid, ROUND_HALF_UP)
                lp.quote(symbol, bid, ask)
                self.inbox.put(LpQuote(name, symbol, bid, ask, now))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
