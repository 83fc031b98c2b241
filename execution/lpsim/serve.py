"""``brokerstack run lp-simulator --name lp-alpha --quote-port 9871 --trade-port 9872``

Runs one simulated LP until interrupted. It quotes the shared reference path (the same market
in every simulator process started with the same market seed) at its own spread and offset,
or replays a CSV file. Its FIX store lives under the data folder's ``lpsim/NAME`` unless told
otherwise. Its operations port answers ready once both FIX acceptors listen, and serves the
counters of ``execution.lpsim.metrics``.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings
from execution.lpsim.behaviour import Behaviour
from execution.lpsim.feeds import (
    DEFAULT_SYMBOLS,
    Feed,
    PathFeed,
    Replay,
    SymbolSpec,
    lp_symbols,
)
from execution.lpsim.path import ReferencePath
from execution.lpsim.simulator import LpSimulator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulatorOptions:
    name: str
    quote_port: int
    trade_port: int
    behaviour: Behaviour
    ops_port: int
    market: list[SymbolSpec] = field(default_factory=list)  # default: the seeded symbols
    spread: int | None = None  # points, every symbol; default: spread_scale
    spread_scale: float = 1.0
    offset: float = 0.0  # the LP's mid above the reference path, in typical spreads
    replay: Path | None = None
    market_seed: int = 1
    data: Path | None = None


def serve(settings: Settings, options: SimulatorOptions) -> int:
    market = options.market or list(DEFAULT_SYMBOLS)
    symbols = lp_symbols(market, options.spread_scale, options.spread)
    behaviour = options.behaviour
    feed: Feed
    if options.replay:
        feed = Replay(options.replay, symbols)
    else:
        offsets = {s.symbol: round(options.offset * (s.spread or behaviour.spread_points))
                   for s in market}  # fmt: skip
        feed = PathFeed(ReferencePath(market, options.market_seed), offsets)
    data = options.data or settings.data_path / "lpsim" / options.name
    sim = LpSimulator(
        options.name, options.quote_port, options.trade_port, data, symbols, behaviour, feed
    )
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    readiness = Readiness()
    readiness.set("acceptors", "starting the FIX acceptors")
    ops = OpsServer(settings.host, options.ops_port, readiness).start()
    sim.start()
    readiness.set("acceptors", None)
    log.info(
        "%s quoting on %d, trading on %d", options.name, options.quote_port, options.trade_port
    )
    done.wait()
    sim.stop()
    ops.stop()
    return 0
