"""The FIX bridge: our side of every LP's quote and trade sessions, and the service's
``LpGateway``.

Two plain ``SocketInitiator``s (the threaded ones stalled under bursts here), one for the quote
sessions and one for the trade sessions, so a burst of quotes never queues an execution
report behind it. Their callbacks run on quickfix's C++ threads: each one copies what it needs
out of the message (the raw text), catches everything (an escaping exception ends the
process) and hands plain values on: quotes and session states to the inbox, execution reports
to the journal, which commits them and then puts them in the inbox.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix

from execution.fix import wire
from execution.fix.config import LpConfig, resolve_password
from execution.fix.health import LpHealth
from execution.fix.journal import DirectSink, ReceivedReport, ReportSink
from execution.fix.links import Link
from execution.fix.orders import ExecReport, OrderBook, Working
from execution.fix.quotes import QuoteUpdate, on_market_data, on_request_reject
from execution.fix.sessions import Role, initiator_settings
from execution.inbox import Inbox, LpExecution, LpQuote, LpSessionState
from execution.lp import LpOrder, LpReport, ReportStatus

log = logging.getLogger(__name__)

_ZERO = Decimal(0)
_SENT_REMEMBERED = 10_000  # MsgSeqNum -> ClOrdID, to tie a session Reject to its order


@dataclass(frozen=True, slots=True)
class Recovering:
    """An order the service journaled and has not seen the end of (after a restart): what it
    already applied is ``filled`` lots at ``avg_px``."""

    order: LpOrder
    filled: Decimal = Decimal(0)
    avg_px: Decimal | None = None


def _guarded(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        def guarded(*args: Any) -> None:
            try:
                fn(*args)
            except fix.DoNotSend:
                raise
            except Exception:
                log.exception("fix %s callback failed; message dropped", what)

        return guarded

    return wrap


class _App(fix.Application):  # type: ignore[misc]
    """quickfix's callbacks, forwarded to the bridge; nothing may escape them."""

    def __init__(self, bridge: FixBridge, role: Role) -> None:
        super().__init__()
        self.bridge = bridge
        self.role = role

    @_guarded("onCreate")
    def onCreate(self, sid: fix.SessionID) -> None:
        pass

    @_guarded("onLogon")
    def onLogon(self, sid: fix.SessionID) -> None:
        self.bridge._logged(sid, self.role, True)

    @_guarded("onLogout")
    def onLogout(self, sid: fix.SessionID) -> None:
        self.bridge._logged(sid, self.role, False)

    @_guarded("toAdmin")
    def toAdmin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.bridge._to_admin(msg, sid)

    @_guarded("fromAdmin")
    def fromAdmin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.bridge._from_admin(msg, sid)

    @_guarded("toApp")
    def toApp(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.bridge._to_app(msg, sid, self.role)

    @_guarded("fromApp")
    def fromApp(self, msg: fix.Message, sid: fix.SessionID) -> None:
        if self.role is Role.QUOTE:
            self.bridge._quote_message(msg, sid)
        else:
            self.bridge._trade_message(msg, sid)


class FixBridge:
    """Connects to every configured LP; implements ``LpGateway.send``.

    ``sink`` receives execution reports (a ``WarehouseJournal`` in the service, which commits
    them before they reach the inbox); without one they go straight to the inbox.
    """

    def __init__(
        self,
        lps: Iterable[LpConfig],
        inbox: Inbox,
        store: Path,
        sink: ReportSink | None = None,
        health: LpHealth | None = None,
        message_log: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.inbox = inbox
        self.sink: ReportSink = sink if sink is not None else DirectSink(inbox)
        self.health = health if health is not None else LpHealth()
        self.book = OrderBook()
        self.store = store
        self._links = {config.code: Link.of(config) for config in lps}
        self._by_session: dict[str, tuple[Link, Role]] = {}
        for link in self._links.values():
            self._by_session[link.quote_sid.toString()] = (link, Role.QUOTE)
            self._by_session[link.trade_sid.toString()] = (link, Role.TRADE)
        self._passwords = {
            (link.lp, role): resolve_password(config.credentials_ref, env)
            for link in self._links.values()
            for config, role in ((link.config.quote, Role.QUOTE), (link.config.trade, Role.TRADE))
        }
        self._sent: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._ids = itertools.count(1)
        self._message_log = message_log
        self._initiators: list[Any] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        store = self.store
        store.mkdir(parents=True, exist_ok=True)
        for role in (Role.QUOTE, Role.TRADE):
            sessions = [
                (link.config.quote if role is Role.QUOTE else link.config.trade, role)
                for link in self._links.values()
            ]
            if not sessions:
                continue
            settings = initiator_settings(sessions, store)
            # quickfix keeps raw pointers to all of these: they live as long as the initiator
            keep: list[Any] = [_App(self, role), fix.FileStoreFactory(settings), settings]
            if self._message_log:
                keep.append(fix.FileLogFactory(settings))
            initiator = fix.SocketInitiator(*keep)
            initiator.start()
            self._initiators.append((initiator, keep))

    def stop(self) -> None:
        for initiator, _ in self._initiators:
            initiator.stop()
        self._initiators.clear()
        for link in self._links.values():
            link.quote_up = link.trade_up = False
            self._announce(link)

    # --- the gateway ----------------------------------------------------------------------

    def send(self, order: LpOrder, limit_price: Decimal | None = None) -> None:
        """Send a journaled order: market, or limit at ``limit_price``; IOC, or FOK."""
        now = time.time_ns()
        link = self._links.get(order.lp)
        if link is None:
            self._refuse(order, f"unknown LP {order.lp!r}", now)
            return
        lp_symbol = link.config.lp_symbol(order.symbol)
        if lp_symbol is None:
            self._refuse(order, f"{order.lp} does not trade {order.symbol}", now)
            return
        if not link.trade_up:
            self._refuse(order, f"{order.lp} trade session is down", now)
            return
        volume = order.volume
        working = Working(
            order, lp_symbol, volume, now, link.quoted_price(order.symbol, order.side)
        )
        self.book.register(working)
        msg = wire.new_order_single(
            order.cl_ord_id, lp_symbol, order.side, volume, order.fok, limit_price
        )
        try:
            fix.Session.sendToTarget(msg, link.trade_sid)
        except fix.SessionNotFound:
            self.book.working.pop(order.cl_ord_id, None)
            self._refuse(order, f"{order.lp} trade session not found", now)

    def cancel(self, cl_ord_id: str) -> bool:
        """Ask the LP to cancel what is left of an order (OrderCancelRequest F)."""
        working = self.book.working.get(cl_ord_id)
        if working is None:
            return False
        link = self._links[working.order.lp]
        msg = wire.order_cancel_request(
            f"{cl_ord_id}.x{next(self._ids)}",
            cl_ord_id,
            working.lp_symbol,
            working.order.side,
            working.qty,
        )
        return bool(fix.Session.sendToTarget(msg, link.trade_sid))

    def recover(self, orders: Iterable[Recovering]) -> None:
        """Take over orders journaled before a restart; their LP is asked for each one's
        status as soon as its trade session is logged on (now, if it is)."""
        for item in orders:
            order = item.order
            link = self._links.get(order.lp)
            lp_symbol = link.config.lp_symbol(order.symbol) if link is not None else None
            if link is None or lp_symbol is None:
                log.error("cannot recover %s: LP or symbol no longer configured", order.cl_ord_id)
                continue
            working = Working(order, lp_symbol, order.volume, order.time)
            working.cum_qty = item.filled
            working.cum_value = item.filled * (item.avg_px or Decimal(0))
            self.book.register(working)
            if link.trade_up:
                self._ask_status(link, working)

    def connected(self, lp: str) -> bool:
        link = self._links.get(lp)
        return link is not None and link.quote_up and link.trade_up

    def next_sequence_numbers(self, lp: str) -> tuple[int, int]:
        """(next sent, next expected) MsgSeqNum of an LP's trade session."""
        session = fix.Session.lookupSession(self._links[lp].trade_sid)
        return int(session.getExpectedSenderNum()), int(session.getExpectedTargetNum())

    # --- callbacks (quickfix threads) -----------------------------------------------------

    def _session(self, sid: fix.SessionID) -> tuple[Link, Role]:
        return self._by_session[sid.toString()]

    def _logged(self, sid: fix.SessionID, role: Role, up: bool) -> None:
        link, _ = self._session(sid)
        log.info("%s %s session %s", link.lp, role.value, "logged on" if up else "logged off")
        if role is Role.QUOTE:
            link.quote_up = up
            if up:
                self._subscribe(link)
            else:
                link.quotes.clear()
        else:
            link.trade_up = up
            if up:
                for working in self.book.at(link.lp):
                    self._ask_status(link, working)
        self._announce(link)

    def _to_admin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        if msg.getHeader().getField(wire.MSG_TYPE) != "A":
            return
        link, role = self._session(sid)
        msg.setField(wire.USERNAME, sid.getSenderCompID().getValue())
        password = self._passwords[(link.lp, role)]
        if password:
            msg.setField(wire.PASSWORD, password)

    def _from_admin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        msg_type = msg.getHeader().getField(wire.MSG_TYPE)
        if msg_type not in ("3", "5"):
            return
        link, role = self._session(sid)
        values = wire.fields(msg.toString())
        text = values.get(wire.TEXT, "")
        if msg_type == "5":
            if text:
                log.warning("%s %s logout: %s", link.lp, role.value, text)
            return
        ref_seq = int(values.get(wire.REF_SEQ_NUM, "0") or 0)
        log.warning(
            "%s %s session Reject of our message %s (%s): tag %s reason %s %s",
            link.lp, role.value, ref_seq, values.get(wire.REF_MSG_TYPE, "?"),
            values.get(wire.REF_TAG_ID, "-"), values.get(wire.SESSION_REJECT_REASON, "?"), text,
        )  # fmt: skip
        cl_ord_id = self._sent.pop((link.lp, ref_seq), None)
        if cl_ord_id is not None:
            self._reject(link, cl_ord_id, f"session reject: {text}")

    def _to_app(self, msg: fix.Message, sid: fix.SessionID, role: Role) -> None:
        if role is not Role.TRADE:
            return
        header = msg.getHeader()
        if header.isSetField(43) and header.getField(43) == "Y":
            # Never resend an order from the store: its fate is asked for with a status
            # request at logon, so quickfix sends a gap fill instead.
            raise fix.DoNotSend()
        if header.getField(wire.MSG_TYPE) == "D":
            link, _ = self._session(sid)
            sent = self._sent
            sent[(link.lp, int(header.getField(wire.MSG_SEQ_NUM)))] = msg.getField(wire.CL_ORD_ID)
            if len(sent) > _SENT_REMEMBERED:
                sent.popitem(last=False)

    def _quote_message(self, msg: fix.Message, sid: fix.SessionID) -> None:
        link, _ = self._session(sid)
        msg_type = msg.getHeader().getField(wire.MSG_TYPE)
        now = time.time_ns()
        raw = msg.toString()
        if msg_type in ("W", "X"):
            update = on_market_data(link, msg_type, raw, now)
        elif msg_type == "Y":
            update = on_request_reject(link, wire.fields(raw), now)
        else:
            update = QuoteUpdate(problems=[f"{link.lp}: unexpected {msg_type} on quote session"])
        if link.trade_up:  # quotes we cannot trade on must not attract orders
            for quote in update.quotes:
                self.inbox.put(quote)
        for problem in update.problems:
            log.warning("%s", problem)

    def _trade_message(self, msg: fix.Message, sid: fix.SessionID) -> None:
        link, _ = self._session(sid)
        raw = msg.toString()
        values = wire.fields(raw)
        msg_type = values.get(wire.MSG_TYPE)
        if msg_type == "8":
            self._execution_report(link, raw, values)
        elif msg_type == "9":
            log.warning(
                "%s cancel of %s rejected (reason %s): %s",
                link.lp, values.get(wire.ORIG_CL_ORD_ID), values.get(wire.CXL_REJ_REASON, "?"),
                values.get(wire.TEXT, ""),
            )  # fmt: skip
        elif msg_type == "j":
            self._business_reject(link, values)
        else:
            log.warning("%s: unexpected %s on trade session", link.lp, msg_type)

    def _execution_report(self, link: Link, raw: str, values: dict[int, str]) -> None:
        now = time.time_ns()
        report = ExecReport.parse(values)
        lp = link.lp
        if report.exec_type != "I" and self.book.seen(lp, report.exec_id):
            log.warning("%s duplicate ExecID %s ignored", lp, report.exec_id)
            return
        applied = self.book.apply(lp, report, now)
        if applied.reason:
            log.warning("%s report %s: %s", lp, report.exec_id, applied.reason)
        if applied.final is not None:
            self.health.record(applied.final)
        items: list[Any] = [LpExecution(lp, r, now) for r in applied.reports]
        self.sink.put(ReceivedReport(link.config.lp_id, report, raw, now), items)

    def _business_reject(self, link: Link, values: dict[int, str]) -> None:
        ref_type = values.get(wire.REF_MSG_TYPE, "?")
        ref_id = values.get(379, "")  # BusinessRejectRefID
        text = values.get(wire.TEXT, "")
        log.warning(
            "%s BusinessMessageReject of %s %r: reason %s %s",
            link.lp, ref_type, ref_id, values.get(wire.BUSINESS_REJECT_REASON, "?"), text,
        )  # fmt: skip
        if ref_type == "D" and ref_id:
            self._reject(link, ref_id, f"business reject: {text}")

    # --- helpers ----------------------------------------------------------------------------

    def _reject(self, link: Link, cl_ord_id: str, text: str) -> None:
        """The LP refused an order outright (a Reject or BusinessMessageReject of its D)."""
        now = time.time_ns()
        refusal = ExecReport(cl_ord_id, "", "8", "8", None, None, None, None, None, text, "")
        applied = self.book.apply(link.lp, refusal, now)
        if applied.final is not None:
            self.health.record(applied.final)
        self.sink.put(None, [LpExecution(link.lp, r, now) for r in applied.reports])

    def _refuse(self, order: LpOrder, text: str, now: int) -> None:
        """An order that never left: rejected at once, so the client is answered."""
        log.warning("order %s not sent: %s", order.cl_ord_id, text)
        report = LpReport(order.cl_ord_id, ReportStatus.REJECTED, text=text)
        self.sink.put(None, [LpExecution(order.lp, report, now)])

    def _ask_status(self, link: Link, working: Working) -> None:
        msg = wire.order_status_request(
            working.order.cl_ord_id, working.lp_symbol, working.order.side
        )
        fix.Session.sendToTarget(msg, link.trade_sid)

    def _subscribe(self, link: Link) -> None:
        for symbol, lp_symbol in link.config.symbols.items():
            req_id = f"{link.lp}.{symbol}.{next(self._ids)}"
            link.md_requests[req_id] = symbol
            fix.Session.sendToTarget(wire.market_data_request(req_id, lp_symbol), link.quote_sid)

    def _announce(self, link: Link) -> None:
        up = link.state_change()
        if up is None:
            return
        now = time.time_ns()
        self.inbox.put(LpSessionState(link.lp, up, now))
        if up:  # the quotes held back while the trade session was down count from now
            for symbol, (bid, ask) in list(link.quotes.items()):
                self.inbox.put(LpQuote(link.lp, symbol, bid or _ZERO, ask or _ZERO, now))
