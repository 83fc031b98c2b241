"""A-book round trips per second through the FIX bridge and the core, against raw quickfix.

    uv run python bench/fix_roundtrip.py [--orders 5000] [--runs 3] [--window 1 16]

Each leg talks to a fresh LP simulator process (``brokerstack run lp-simulator``) on loopback:

* raw: a bare quickfix initiator sends NewOrderSingle and, on each ExecutionReport, the next;
* bridge: PlaceOrder commands into the core (routed A-book), LpOrders out through
  ``FixBridge.send``, ExecutionReports back through the bridge and the inbox into
  ``Core.on_lp_report``, which fills the client.

``window`` orders are kept in flight. Prints the median of ``runs`` per leg and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix

from brokerstack.services.ports import free_port, wait_for_port
from execution import contracts as c
from execution.core import Core, CoreConfig
from execution.fix import FixBridge, LpConfig, SessionConfig, wire
from execution.fix.config import Role
from execution.fix.sessions import initiator_settings
from execution.groups import Accounting
from execution.inbox import Inbox, LpExecution, LpQuote
from execution.instruments import Instrument
from execution.lp import ReportStatus
from execution.routing import RouteAction, RoutingRule
from execution.samples import retail_group

D = Decimal
LP = "lp-bench"


class Simulator:
    def __init__(self, folder: Path) -> None:
        self.quote_port, self.trade_port = free_port(), free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "brokerstack", "run", "lp-simulator", "--name", LP,
             "--quote-port", str(self.quote_port), "--trade-port", str(self.trade_port),
             "--ops-port", str(free_port()),
             "--symbol", "EURUSD:1.08500:5", "--quote-interval", "0.5",
             "--data", str(folder / "sim")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port("127.0.0.1", self.trade_port, 30, "lpsim")

    def config(self) -> LpConfig:
        def session(port: int, role: Role) -> SessionConfig:
            suffix = "Q" if role is Role.QUOTE else "T"
            return SessionConfig("127.0.0.1", port, f"BROKERSTACK_{suffix}",
                                 f"LPBENCH_{suffix}", 30, 1)  # fmt: skip

        return LpConfig(
            LP, 1, session(self.quote_port, Role.QUOTE), session(self.trade_port, Role.TRADE),
            {"EURUSD": "EURUSD"},
        )  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class _RawApp(fix.Application):  # type: ignore[misc]
    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
        self.done = 0
        self.sent = 0
        self.logged_on = threading.Event()
        self.finished = threading.Event()
        self.sid: Any = None

    def onCreate(self, sid: Any) -> None:
        self.sid = sid

    def onLogon(self, sid: Any) -> None:
        self.logged_on.set()

    def onLogout(self, sid: Any) -> None:
        pass

    def toAdmin(self, msg: Any, sid: Any) -> None:
        pass

    def fromAdmin(self, msg: Any, sid: Any) -> None:
        pass

    def toApp(self, msg: Any, sid: Any) -> None:
        pass

    def fromApp(self, msg: Any, sid: Any) -> None:
        try:
            msg.getField(wire.CL_ORD_ID)
            self.done += 1
            if self.done >= self.total:
                self.finished.set()
            elif self.sent < self.total:
                self.send()
        except Exception as error:
            print("raw callback failed:", error, file=sys.stderr)

    def send(self) -> None:
        self.sent += 1
        side = c.Side.BUY if self.sent % 2 else c.Side.SELL
        msg = wire.new_order_single(f"raw-{self.sent}", "EURUSD", side, D("0.1"), False)
        fix.Session.sendToTarget(msg, self.sid)


def raw_leg(orders: int, window: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim = Simulator(folder)
        try:
            config = sim.config()
            settings = initiator_settings([(config.trade, Role.TRADE)], folder / "fix")
            app = _RawApp(orders + window)
            store = fix.FileStoreFactory(settings)
            initiator = fix.SocketInitiator(app, store, settings)
            initiator.start()
            app.logged_on.wait(20)
            for _ in range(window):  # warm-up round trips are not timed
                app.send()
            while app.done < window:
                time.sleep(0.001)
            started = time.perf_counter()
            app.total = orders + window
            for _ in range(window):
                app.send()
            app.finished.wait(120)
            elapsed = time.perf_counter() - started
            initiator.stop()
            return (app.done - window) / elapsed
        finally:
            sim.stop()


def _core() -> Core:
    group = retail_group(accounting=Accounting.NETTING, commissions={})
    instrument = Instrument("EURUSD", 5, D(100_000), "EUR", "USD", "EUR")
    core = Core(
        CoreConfig(
            [instrument], [group], rules=[RoutingRule(RouteAction.A_BOOK)],
            staleness_ns=3600 * 10**9, quiet_ns=3600 * 10**9,
        )
    )  # fmt: skip
    core.add_account(1, group.name, balance=D(10_000_000))
    return core


def bridge_leg(orders: int, window: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim = Simulator(folder)
        inbox = Inbox()
        bridge = FixBridge([sim.config()], inbox, folder / "fix")
        core = _core()
        try:
            bridge.start()
            quoted = False
            deadline = time.monotonic() + 20
            while not (quoted and bridge.connected(LP)) and time.monotonic() < deadline:
                for item in inbox.take(0.1, 100):
                    if isinstance(item, LpQuote):
                        instrument = core.ctx.instruments["EURUSD"]
                        bid, ask = instrument.to_points(item.bid), instrument.to_points(item.ask)
                        if bid is not None and ask is not None:
                            core.on_quote(LP, "EURUSD", bid, ask, time.time_ns())
                            quoted = True
            run = _Loop(core, inbox, bridge)
            run.go(window, window)  # warm-up
            started = time.perf_counter()
            run.go(orders, window)
            return orders / (time.perf_counter() - started)
        finally:
            bridge.stop()
            sim.stop()


class _Loop:
    """The service loop's work per round trip: command in, LP order out, report in."""

    def __init__(self, core: Core, inbox: Inbox, bridge: FixBridge) -> None:
        self.core, self.inbox, self.bridge = core, inbox, bridge
        self.placed = 0

    def place(self) -> None:
        self.placed += 1
        command = c.PlaceOrder(
            request_id=f"b{self.placed}", account_id=1, symbol="EURUSD",
            side=c.Side.BUY if self.placed % 2 else c.Side.SELL, volume=D("0.1"),
            tif=c.TimeInForce.IOC,
        )  # fmt: skip
        outcome = self.core.handle(command, time.time_ns())
        for lp_order in outcome.lp_orders:
            self.bridge.send(lp_order)

    def go(self, orders: int, window: int) -> None:
        done = sent = 0
        core = self.core
        while done < orders:
            while sent - done < window and sent < orders:
                self.place()
                sent += 1
            for item in self.inbox.take(1.0, 1000):
                if isinstance(item, LpExecution):
                    if item.report.status is ReportStatus.ACCEPTED:
                        continue  # an acknowledgement only names the LP's OrderID
                    outcome = core.on_lp_report(item.report, time.time_ns())
                    for lp_order in outcome.lp_orders:
                        self.bridge.send(lp_order)
                    if item.report.leaves_qty == 0:
                        done += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    for window in args.window:
        raw = [raw_leg(args.orders, window) for _ in range(args.runs)]
        ours = [bridge_leg(args.orders, window) for _ in range(args.runs)]
        raw_median, ours_median = statistics.median(raw), statistics.median(ours)
        print(f"window {window}: raw quickfix {raw_median:,.0f} round trips/s "
              f"(runs {', '.join(f'{r:,.0f}' for r in raw)})")  # fmt: skip
        print(f"window {window}: bridge + core {ours_median:,.0f} round trips/s "
              f"(runs {', '.join(f'{r:,.0f}' for r in ours)})")  # fmt: skip
        print(f"window {window}: ratio {ours_median / raw_median:.2f}")


if __name__ == "__main__":
    main()
