"""A simulated LP: a quickfix acceptor with a quote and a trade session (FIX 4.4).

It streams top-of-book quotes for its symbols (snapshot W on subscription, then incremental
X), answers NewOrderSingle with fills at its current price (buy at its ask, sell at its bid)
as its `Behaviour` says, answers OrderStatusRequest and OrderCancelRequest, and can drop its
connections. What it sends while a session is down is stored and resent on the client's
ResendRequest, as a real LP's engine does (unless its behaviour gap-fills instead). With a
certificate it accepts TLS only.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix

from execution.contracts import Side
from execution.fix import wire
from execution.fix.config import Role
from execution.fix.sessions import BEGIN_STRING, acceptor_settings
from execution.fix.tls import TlsFront
from execution.lpsim.behaviour import Behaviour, Misreport, Outcome
from execution.lpsim.feeds import Feed, RandomWalk, SymbolSpec
from execution.lpsim.metrics import ORDERS, QUOTES
from execution.lpsim.reports import Report, SimOrder, report_message

log = logging.getLogger(__name__)

_LOT_STEP = Decimal("0.01")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def comp_id(name: str, role: Role) -> str:
    """lp-alpha -> LPALPHA_Q / LPALPHA_T, as the seeded lp_sessions name them."""
    return name.upper().replace("-", "") + ("_Q" if role is Role.QUOTE else "_T")


@dataclass
class Received:
    """What the simulator was sent, for tests to look at."""

    orders: list[str] = field(default_factory=list)  # ClOrdIDs in arrival order
    status_requests: list[str] = field(default_factory=list)
    status_request_times: list[float] = field(default_factory=list)  # time.monotonic()
    rejects: list[dict[int, str]] = field(default_factory=list)  # session Rejects (3)
    logons: list[dict[int, str]] = field(default_factory=list)
    logon_times: list[float] = field(default_factory=list)  # time.monotonic()


class _App(fix.Application):  # type: ignore[misc]
    def __init__(self, sim: LpSimulator) -> None:
        super().__init__()
        self.sim = sim

    def onCreate(self, sid: fix.SessionID) -> None:
        pass

    def onLogon(self, sid: fix.SessionID) -> None:
        self.sim._guard(self.sim._logon, sid, True)

    def onLogout(self, sid: fix.SessionID) -> None:
        self.sim._guard(self.sim._logon, sid, False)

    def toAdmin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        pass

    def fromAdmin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.sim._from_admin(msg, sid)  # may raise RejectLogon, which quickfix expects

    def toApp(self, msg: fix.Message, sid: fix.SessionID) -> None:
        if not self.sim.behaviour.gap_fill_resends:
            return
        header = msg.getHeader()
        if header.isSetField(43) and header.getField(43) == "Y":
            raise fix.DoNotSend()  # quickfix gap-fills over it instead

    def fromApp(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.sim._guard(self.sim._from_app, msg, sid)


class LpSimulator:
    def __init__(
        self,
        name: str,
        quote_port: int,
        trade_port: int,
        store: Path,
        symbols: list[SymbolSpec],
        behaviour: Behaviour | None = None,
        feed: Feed | None = None,
        client_quote_comp: str = "BROKERSTACK_Q",
        client_trade_comp: str = "BROKERSTACK_T",
        certificate: tuple[Path, Path] | None = None,
    ) -> None:
        self.name = name
        self.behaviour = behaviour or Behaviour()
        self.specs = {s.symbol: s for s in symbols}
        self.feed = feed or RandomWalk(symbols, seed=self.behaviour.seed)
        self.mids = {s.symbol: s.points(s.start) for s in symbols}
        self.quote_sid = fix.SessionID(BEGIN_STRING, comp_id(name, Role.QUOTE), client_quote_comp)
        self.trade_sid = fix.SessionID(BEGIN_STRING, comp_id(name, Role.TRADE), client_trade_comp)
        # with TLS, quickfix listens on loopback ports of its own behind TLS fronts
        self._fronts: list[TlsFront] = []
        accept = (quote_port, trade_port)
        if certificate is not None:
            accept = (_free_port(), _free_port())
            self._fronts = [
                TlsFront(f"{name}-tls", public, inner, *certificate)
                for public, inner in zip((quote_port, trade_port), accept, strict=True)
            ]
        self._settings = acceptor_settings(
            [(self.quote_sid, accept[0], Role.QUOTE), (self.trade_sid, accept[1], Role.TRADE)],
            store,
        )
        self.orders: dict[str, SimOrder] = {}
        self.received = Received()
        self.held: list[SimOrder] = []
        self._subscriptions: dict[str, str] = {}  # symbol -> MDReqID
        self._ids = itertools.count(1)
        self._run = f"{time.time_ns() // 1_000_000:x}"  # ExecIDs stay unique across restarts
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_wake = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._acceptor: Any = None
        self._quotes_sent = QUOTES.labels(name)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        # quickfix keeps raw pointers to the application and the store factory: hold them.
        # The threaded acceptor: the plain one's stop() races its own thread closing and
        # deleting the socket server (quickfix 1.16) and crashed the process now and then.
        self._app = _App(self)
        self._store_factory = fix.FileStoreFactory(self._settings)
        self._acceptor = fix.ThreadedSocketAcceptor(self._app, self._store_factory, self._settings)
        self._acceptor.start()
        for front in self._fronts:
            front.start()
        self._stop.clear()
        for target, name in ((self._quote_loop, "quotes"), (self._timer_loop, "timers")):
            thread = threading.Thread(target=target, name=f"{self.name}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._timer_wake.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._acceptor is None:
            return
        # Log the sessions out ourselves, then stop without quickfix's own 10 s wait.
        for sid in (self.quote_sid, self.trade_sid):
            session = fix.Session.lookupSession(sid)
            if session is not None and session.isLoggedOn():
                session.logout("simulator stopping")
        deadline = time.monotonic() + 3
        while self._any_logged_on() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._acceptor.stop(True)
        self._acceptor = None
        for front in self._fronts:
            front.stop()

    def disconnect(self) -> None:
        """Drop both connections (the client reconnects; sequence numbers carry on)."""
        for sid in (self.quote_sid, self.trade_sid):
            session = fix.Session.lookupSession(sid)
            if session is not None:
                session.disconnect()

    def _any_logged_on(self) -> bool:
        return any(
            (s := fix.Session.lookupSession(sid)) is not None and s.isLoggedOn()
            for sid in (self.quote_sid, self.trade_sid)
        )

    def logged_on(self) -> bool:
        return all(
            (s := fix.Session.lookupSession(sid)) is not None and s.isLoggedOn()
            for sid in (self.quote_sid, self.trade_sid)
        )

    def release(self) -> None:
        """Answer the held orders (with a fill each), connected or not."""
        with self._lock:
            held, self.held = self.held, []
        for order in held:
            self._execute(order, Outcome.FILL)

    def send(self, role: Role, msg: fix.Message) -> bool:
        """Send any message to the client (tests use it for malformed or unexpected ones)."""
        sid = self.quote_sid if role is Role.QUOTE else self.trade_sid
        return bool(fix.Session.sendToTarget(msg, sid))

    def price(self, symbol: str) -> tuple[Decimal, Decimal]:
        bid, ask = self._book(symbol)
        spec = self.specs[symbol]
        return spec.price(bid), spec.price(ask)

    def set_mid(self, symbol: str, mid: Decimal) -> None:
        """Move the price at once and quote it (tests pick which LP is best)."""
        with self._lock:
            self.mids[symbol] = self.specs[symbol].points(mid)
        self._quote(symbol, self._subscriptions.get(symbol), snapshot=False)

    # --- callbacks --------------------------------------------------------------------------

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("%s: callback failed", self.name)

    def _logon(self, sid: fix.SessionID, up: bool) -> None:
        log.info("%s %s %s", self.name, sid.toString(), "logged on" if up else "logged off")
        if not up and sid.toString() == self.quote_sid.toString():
            self._subscriptions.clear()

    def _from_admin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        msg_type = msg.getHeader().getField(wire.MSG_TYPE)
        if msg_type == "3":
            self.received.rejects.append(wire.fields(msg.toString()))
        if msg_type != "A":
            return
        values = wire.fields(msg.toString())
        self.received.logons.append(values)
        self.received.logon_times.append(time.monotonic())
        if self.behaviour.down:
            raise fix.RejectLogon("out of service")
        password, username = self.behaviour.password, self.behaviour.username
        if password and values.get(wire.PASSWORD) != password:
            raise fix.RejectLogon("invalid username or password")
        if username and values.get(wire.USERNAME) != username:
            raise fix.RejectLogon("invalid username or password")

    def _from_app(self, msg: fix.Message, sid: fix.SessionID) -> None:
        raw = msg.toString()
        msg_type = msg.getHeader().getField(wire.MSG_TYPE)
        if msg_type == "V":
            self._subscribe(raw)
        elif msg_type == "D":
            self._new_order(wire.fields(raw))
        elif msg_type == "H":
            self._status(wire.fields(raw))
        elif msg_type == "F":
            self._cancel(wire.fields(raw))
        else:
            reject = wire.message(
                "j", [(wire.REF_MSG_TYPE, msg_type), (wire.BUSINESS_REJECT_REASON, "3")]
            )
            fix.Session.sendToTarget(reject, sid)

    # --- market data ------------------------------------------------------------------------

    def _subscribe(self, raw: str) -> None:
        values = wire.fields(raw)
        req_id = values.get(wire.MD_REQ_ID, "")
        symbols = [v for tag, v in wire.pairs(raw) if tag == wire.SYMBOL]
        for symbol in symbols:
            if symbol not in self.specs:
                reject = wire.message(
                    "Y",
                    [(wire.MD_REQ_ID, req_id), (wire.MD_REQ_REJ_REASON, "0"),
                     (wire.TEXT, f"unknown symbol {symbol}")],
                )  # fmt: skip
                fix.Session.sendToTarget(reject, self.quote_sid)
                continue
            if values.get(wire.SUBSCRIPTION_REQUEST_TYPE) == "2":
                self._subscriptions.pop(symbol, None)
                continue
            self._subscriptions[symbol] = req_id
            with self._lock:  # the snapshot is today's price, not the one before a logoff
                self.mids[symbol] = self.feed.next_mid(symbol)
            self._quote(symbol, req_id, snapshot=True)

    def _book(self, symbol: str) -> tuple[int, int]:
        spread = self.specs[symbol].spread or self.behaviour.spread_points
        bid = self.mids[symbol] - spread // 2
        return bid, bid + spread

    def _quote(self, symbol: str, req_id: str | None, snapshot: bool) -> None:
        if req_id is None:
            return
        spec = self.specs[symbol]
        bid, ask = self._book(symbol)
        if self.behaviour.crossed():
            bid, ask = ask + 1, bid
        if snapshot:
            msg = wire.message("W", [(wire.MD_REQ_ID, req_id), (wire.SYMBOL, symbol)])
        else:
            msg = wire.message("X", [(wire.MD_REQ_ID, req_id)])
        for kind, points in (("0", bid), ("1", ask)):
            group = fix.Group(wire.NO_MD_ENTRIES, wire.MD_UPDATE_ACTION if not snapshot else 269)
            if not snapshot:
                group.setField(wire.MD_UPDATE_ACTION, "1")
            group.setField(wire.MD_ENTRY_TYPE, kind)
            if not snapshot:
                group.setField(wire.SYMBOL, symbol)
            group.setField(wire.MD_ENTRY_PX, format(spec.price(points), "f"))
            msg.addGroup(group)
        if fix.Session.sendToTarget(msg, self.quote_sid):
            self._quotes_sent.inc()

    def _quote_loop(self) -> None:
        while not self._stop.wait(self.behaviour.quote_interval):
            if self.behaviour.stale:
                continue
            for symbol, req_id in list(self._subscriptions.items()):
                with self._lock:
                    self.mids[symbol] = self.feed.next_mid(symbol)
                self._guard(self._quote, symbol, req_id, False)

    # --- orders -----------------------------------------------------------------------------

    def _new_order(self, values: dict[int, str]) -> None:
        cl_ord_id = values.get(wire.CL_ORD_ID, "")
        self.received.orders.append(cl_ord_id)
        symbol = values.get(wire.SYMBOL, "")
        qty = wire.decimal(values.get(wire.ORDER_QTY))
        side = wire.SIDE_OF.get(values.get(wire.SIDE, ""))
        order = SimOrder(
            cl_ord_id,
            f"{self.name}-o{next(self._ids)}",
            symbol,
            side or Side.BUY,
            qty or Decimal(0),
            wire.decimal(values.get(wire.PRICE)) if values.get(wire.ORD_TYPE) == "2" else None,
            values.get(wire.TIME_IN_FORCE) == "4",
        )
        if cl_ord_id in self.orders:
            self._answered("invalid")
            self._report(order, "8", "8", text="duplicate ClOrdID", reason="6")
            return
        self.orders[cl_ord_id] = order
        if symbol not in self.specs:
            self._answered("invalid")
            self._report(order, "8", "8", text=f"unknown symbol {symbol}", reason="1")
            return
        if side is None or qty is None or qty <= 0:
            self._answered("invalid")
            self._report(order, "8", "8", text="invalid side or quantity", reason="99")
            return
        if self.behaviour.ack:
            order.status = "0"
            self._report(order, "0", "0")
        outcome = self.behaviour.outcome()
        if outcome is Outcome.HOLD:
            with self._lock:
                self.held.append(order)
        elif self.behaviour.latency > 0:
            self._later(self.behaviour.latency, lambda: self._execute(order, outcome))
        else:
            self._execute(order, outcome)

    def _execute(self, order: SimOrder, outcome: Outcome) -> None:
        if order.status not in ("A", "0"):
            return  # canceled meanwhile
        if outcome is Outcome.REJECT:
            order.status = "8"
            self._answered("rejected")
            self._report(order, "8", "8", text="no liquidity", reason="0")
            return
        if outcome is Outcome.LAST_LOOK:
            order.status = "8"
            self._answered("last_look")
            self._report(order, "8", "8", text="last look: price moved", reason="0")
            return
        bid, ask = self._book(order.symbol)
        points = ask if order.side is Side.BUY else bid
        px = self.specs[order.symbol].price(points)
        marketable = order.limit is None or (
            px <= order.limit if order.side is Side.BUY else px >= order.limit
        )
        qty = order.qty
        if outcome is Outcome.PARTIAL:
            qty = (order.qty * self.behaviour.partial_fraction).quantize(_LOT_STEP)
        if not marketable or qty <= 0 or (order.fok and qty < order.qty):
            order.status = "8" if order.fok else "4"
            self._answered("rejected" if order.fok else "canceled")
            text = "limit not marketable" if not marketable else "not enough liquidity"
            self._report(order, order.status, order.status, text=text)
            return
        order.cum += qty
        order.cum_value += px * qty
        order.status = "2" if order.cum == order.qty else "1"
        self._answered("filled" if order.status == "2" else "partially_filled")
        self._report(order, "F", order.status, last=(px, qty))
        if order.cum < order.qty:
            order.status = "4"
            self._report(order, "4", "4", text="IOC rest canceled")

    def _status(self, values: dict[int, str]) -> None:
        cl_ord_id = values.get(wire.CL_ORD_ID, "")
        self.received.status_requests.append(cl_ord_id)
        self.received.status_request_times.append(time.monotonic())
        if not self.behaviour.answer_status:
            return
        order = self.orders.get(cl_ord_id)
        if order is None:
            unknown = SimOrder(cl_ord_id, "NONE", values.get(wire.SYMBOL, ""), Side.BUY,
                               Decimal(0), None, False)  # fmt: skip
            side = wire.SIDE_OF.get(values.get(wire.SIDE, ""))
            unknown.side = side or Side.BUY
            self._report(unknown, "I", "8", text="unknown order", reason="5")
            return
        self._report(order, "I", order.status)

    def _cancel(self, values: dict[int, str]) -> None:
        orig = values.get(wire.ORIG_CL_ORD_ID, "")
        order = self.orders.get(orig)
        with self._lock:
            working = order is not None and order in self.held
            if working and order is not None:
                self.held.remove(order)
        if order is None or not working:
            reject = wire.message(
                "9",
                [(wire.ORDER_ID, order.order_id if order else "NONE"),
                 (wire.CL_ORD_ID, values.get(wire.CL_ORD_ID, "")), (wire.ORIG_CL_ORD_ID, orig),
                 (wire.ORD_STATUS, order.status if order else "8"), (434, "1"),
                 (wire.CXL_REJ_REASON, "1" if order is None else "0"),
                 (wire.TEXT, "unknown order" if order is None else "too late to cancel")],
            )  # fmt: skip
            fix.Session.sendToTarget(reject, self.trade_sid)
            return
        order.status = "4"
        self._answered("canceled")
        self._report(order, "4", "4", text="canceled on request")

    def _answered(self, outcome: str) -> None:
        ORDERS.labels(self.name, outcome).inc()

    def _report(
        self,
        order: SimOrder,
        exec_type: str,
        ord_status: str,
        text: str = "",
        reason: str = "",
        last: tuple[Decimal, Decimal] | None = None,
    ) -> None:
        behaviour = self.behaviour
        misreport: Misreport | None = None
        if last is not None and behaviour.misreports:
            misreport = behaviour.misreports.popleft()
        exec_id = (
            order.order_id if behaviour.reuse_exec_ids
            else f"{self.name}-{self._run}-{next(self._ids)}"
        )  # fmt: skip
        report = Report(exec_type, ord_status, text, reason, last)
        session = fix.Session.lookupSession(self.trade_sid)
        with self._lock:
            if behaviour.lose_reports > 0 and session is not None:
                # lost in transit: its MsgSeqNum is used up, and the store has nothing for it
                behaviour.lose_reports -= 1
                session.setNextSenderMsgSeqNum(session.getExpectedSenderNum() + 1)
                log.info("%s: report %s %s lost (simulated)", self.name, exec_type, exec_id)
                return
        fix.Session.sendToTarget(report_message(order, exec_id, report, misreport), self.trade_sid)

    # --- timers -----------------------------------------------------------------------------

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._ids), action))
            self._timer_wake.notify()

    def _timer_loop(self) -> None:
        next_drop = self._next_drop()
        while not self._stop.is_set():
            due: list[Callable[[], None]] = []
            with self._lock:
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    due.append(heapq.heappop(self._timers)[2])
                wait = self._timers[0][0] - now if self._timers else 0.2
                if next_drop is not None:
                    wait = min(wait, max(next_drop - now, 0.0))
                if not due:
                    self._timer_wake.wait(wait)
            for action in due:
                self._guard(action)
            if next_drop is not None and time.monotonic() >= next_drop:
                log.info("%s: dropping connections (simulated)", self.name)
                self._guard(self.disconnect)
                next_drop = self._next_drop()

    def _next_drop(self) -> float | None:
        every = self.behaviour.disconnect_every
        return time.monotonic() + every if every > 0 else None
