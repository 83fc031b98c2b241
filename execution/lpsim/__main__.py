"""``python -m execution.lpsim --name lp-alpha --quote-port 9871 --trade-port 9872``

Runs one simulated LP until interrupted. It quotes the shared reference path (the same market
in every simulator process started with the same ``--market-seed``) at its own spread and
offset, or replays a CSV file. Its FIX store lives under ``--data`` (default: the stack's data
folder / lpsim / NAME).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from decimal import Decimal
from pathlib import Path

from brokerstack.settings import load_settings
from execution.lpsim.behaviour import Behaviour
from execution.lpsim.feeds import (
    DEFAULT_SYMBOLS,
    Feed,
    PathFeed,
    Replay,
    lp_symbols,
    parse_symbol,
)
from execution.lpsim.path import ReferencePath
from execution.lpsim.simulator import LpSimulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m execution.lpsim", description=__doc__)
    p.add_argument("--name", required=True, help="LP code, e.g. lp-alpha (sets the CompIDs)")
    p.add_argument("--quote-port", type=int, required=True)
    p.add_argument("--trade-port", type=int, required=True)
    p.add_argument(
        "--spread", type=int, help="spread in points of every symbol (default: --spread-scale)"
    )
    p.add_argument(
        "--spread-scale",
        type=float,
        default=1.0,
        help="the LP's spread as a multiple of each symbol's typical spread",
    )
    p.add_argument(
        "--offset",
        type=float,
        default=0.0,
        help="the LP's mid above the reference path, in typical spreads (may be negative)",
    )
    p.add_argument(
        "--symbol",
        action="append",
        type=parse_symbol,
        default=[],
        help="SYMBOL:start:digits[:spread[:volatility]] (repeatable; default: the seeded "
        "instruments)",
    )
    p.add_argument("--replay", type=Path, help="CSV of ticks (symbol,bid,ask) or candles")
    p.add_argument("--quote-interval", type=float, default=0.05, help="seconds between quotes")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    p.add_argument("--partial-ratio", type=float, default=0.0)
    p.add_argument("--partial-fraction", type=Decimal, default=Decimal("0.5"))
    p.add_argument("--reject-ratio", type=float, default=0.0)
    p.add_argument("--last-look-ratio", type=float, default=0.0)
    p.add_argument("--crossed-ratio", type=float, default=0.0)
    p.add_argument("--stale", action="store_true", help="send no quote updates")
    p.add_argument("--disconnect-every", type=float, default=0.0, help="seconds; 0 = never")
    p.add_argument("--ack", action="store_true", help="send ExecType 0 before each outcome")
    p.add_argument("--password-env", help="environment variable holding the logon password")
    p.add_argument("--seed", type=int, default=1, help="seed of the LP's behaviour draws")
    p.add_argument("--market-seed", type=int, default=1, help="seed of the reference path")
    p.add_argument("--data", type=Path, help="folder for the FIX store")
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    market = args.symbol or list(DEFAULT_SYMBOLS)
    symbols = lp_symbols(market, args.spread_scale, args.spread)
    behaviour = Behaviour(
        spread_points=args.spread or Behaviour.spread_points,
        quote_interval=args.quote_interval,
        latency=args.latency,
        partial_ratio=args.partial_ratio,
        partial_fraction=args.partial_fraction,
        reject_ratio=args.reject_ratio,
        last_look_ratio=args.last_look_ratio,
        crossed_ratio=args.crossed_ratio,
        stale=args.stale,
        disconnect_every=args.disconnect_every,
        ack=args.ack,
        password=os.environ.get(args.password_env, "") if args.password_env else "",
        seed=args.seed,
    )
    feed: Feed
    if args.replay:
        feed = Replay(args.replay, symbols)
    else:
        offsets = {s.symbol: round(args.offset * (s.spread or behaviour.spread_points))
                   for s in market}  # fmt: skip
        feed = PathFeed(ReferencePath(market, args.market_seed), offsets)
    data = args.data or load_settings().data_path / "lpsim" / args.name
    sim = LpSimulator(args.name, args.quote_port, args.trade_port, data, symbols, behaviour, feed)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    sim.start()
    logging.getLogger(__name__).info(
        "%s quoting on %d, trading on %d", args.name, args.quote_port, args.trade_port
    )
    done.wait()
    sim.stop()


if __name__ == "__main__":
    main()
