"""The FIX bridge: our side of every LP's quote and trade sessions, and the service's
``LpGateway``.

quickfix's callbacks (``application.py``) copy what they need out of each message (the raw
text) and hand plain values on: quotes and session states to the inbox, execution reports to
the journal, which commits them and only then has them applied (``_resolve_report``) and put
in the inbox. A timer thread moves the reconnect backoff on and sends the status requests
that are due (``inquiries.py``); requests wanted from a callback are queued for it, since
quickfix may be in the middle of sending when it calls back.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix

from execution.fix import wire
from execution.fix.application import BridgeApplication
from execution.fix.config import LpConfig, Role, resolve_password
from execution.fix.health import LpHealth
from execution.fix.initiators import Initiators
from execution.fix.inquiries import Reason, StatusRequests
from execution.fix.journal import DirectSink, ReceivedReport, ReportSink
from execution.fix.links import Link
from execution.fix.orders import ExecReport, OrderBook, Working
from execution.fix.quotes import QuoteUpdate, on_market_data, on_request_reject
from execution.fix.reconnect import Backoff, Reconnects
from execution.inbox import Inbox, InboxItem, LpExecution, LpQuote, LpSessionState
from execution.lp import LpOrder, LpReport, ReportStatus

log = logging.getLogger(__name__)

_ZERO = Decimal(0)
_SENT_REMEMBERED = 10_000  # MsgSeqNum -> ClOrdID, to tie a session Reject to its order
_TICK = 0.1  # seconds between the timer's passes
_RESET_FLAG = 141  # ResetSeqNumFlag
_GAP_FILL_FLAG = 123
_POSS_DUP = 43


@dataclass(frozen=True, slots=True)
class Recovering:
    """An order the service journaled and has not seen the end of (after a restart): what it
    already applied is ``filled`` lots at ``avg_px``."""

    order: LpOrder
    filled: Decimal = Decimal(0)
    avg_px: Decimal | None = None


class FixBridge:
    """Connects to every configured LP; implements ``LpGateway.send``.

    ``sink`` receives execution reports (a ``WarehouseJournal`` in the service, which commits
    them before they are applied); without one they are applied at once.
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
        self.reconnects = Reconnects()
        self._passwords: dict[str, str] = {}
        for link in self._links.values():
            for role in Role:
                config, sid = link.session(role), link.sid(role)
                key = sid.toString()
                self._by_session[key] = (link, role)
                self._passwords[key] = resolve_password(config.credentials_ref, env)
                self.reconnects.add(
                    key,
                    f"{link.lp} {role.value} session",
                    Backoff(config.reconnect_seconds, config.reconnect_max_seconds),
                    functools.partial(fix.Session.lookupSession, sid),
                )
        self._initiators = Initiators(
            [(link.session(role), role) for role in Role for link in self._links.values()],
            store,
            lambda role: BridgeApplication(self, role),
            message_log,
        )
        self._reset_on_logon: set[str] = set()  # sessions whose next Logon resets to 1
        self._sent: OrderedDict[tuple[str, int], str] = OrderedDict()
        self.status_requests = StatusRequests(self.book, self._links, self.health)
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._timer_loop, name="fix-timer", daemon=True)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self.reconnects.stopping = False
        self.reconnects.start(time.monotonic())
        self._initiators.start()
        self._timer.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer.is_alive():
            self._timer.join(timeout=5)
        self.reconnects.stopping = True  # quickfix logs every session out now: no retries
        self._initiators.stop()
        for link in self._links.values():
            link.quote_up = link.trade_up = False
            self._announce(link)

    # --- the gateway ----------------------------------------------------------------------

    def send(self, order: LpOrder) -> None:
        """Send a journaled order: market, or limit at its ``limit_price``; IOC, or FOK."""
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
        working = Working(
            order, lp_symbol, order.volume, now, link.quoted_price(order.symbol, order.side),
            timeout_ns=link.order_timeout_ns,
        )  # fmt: skip
        self.book.register(working)
        msg = wire.new_order_single(
            order.cl_ord_id, lp_symbol, order.side, order.volume, order.fok, order.limit_price
        )
        try:
            fix.Session.sendToTarget(msg, link.trade_sid)
        except fix.SessionNotFound:
            self.book.forget(order.cl_ord_id)
            self._refuse(order, f"{order.lp} trade session not found", now)

    def cancel(self, cl_ord_id: str) -> bool:
        """Ask the LP to cancel what is left of an order (OrderCancelRequest F)."""
        with self.book.locked():
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
            working = Working(
                order, lp_symbol, order.volume, order.time, timeout_ns=link.order_timeout_ns
            )
            working.cum_qty = item.filled
            working.cum_value = item.filled * (item.avg_px or Decimal(0))
            self.book.register(working)
            self.status_requests.want(link.lp, Reason.LOGON, order.cl_ord_id)

    def connected(self, lp: str) -> bool:
        link = self._links.get(lp)
        return link is not None and link.quote_up and link.trade_up

    def next_sequence_numbers(self, lp: str, role: Role = Role.TRADE) -> tuple[int, int]:
        """(next sent, next expected) MsgSeqNum of one of an LP's sessions."""
        session = fix.Session.lookupSession(self._links[lp].sid(role))
        return int(session.getExpectedSenderNum()), int(session.getExpectedTargetNum())

    def reset_sequence(
        self, lp: str, role: Role, next_sender: int | None, next_target: int | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Set a session's next sequence numbers; with neither given, back to 1 on both
        sides: the session logs out and its next Logon carries ResetSeqNumFlag. The numbers
        before and after."""
        link = self._links.get(lp)
        if link is None:
            raise LookupError(f"no FIX sessions for LP {lp!r} in this service")
        sid = link.sid(role)
        session = fix.Session.lookupSession(sid)
        if session is None:
            raise LookupError(f"the {lp} {role} session is not running")
        sender, target = self.next_sequence_numbers(lp, role)
        before = {"next_sender": sender, "next_target": target}
        if next_sender is None and next_target is None:
            key = sid.toString()
            self._reset_on_logon.add(key)
            self.reconnects.retry_now(key, time.monotonic())
            if session.isLoggedOn():
                session.logout("sequence numbers reset by an operator")
            log.warning("%s %s session: sequence numbers reset to 1 at the next logon", lp, role)
            return before, {"next_sender": 1, "next_target": 1, "reset_seq_num_flag": True}
        if next_sender is not None:
            session.setNextSenderMsgSeqNum(next_sender)
        if next_target is not None:
            session.setNextTargetMsgSeqNum(next_target)
        sender, target = self.next_sequence_numbers(lp, role)
        log.warning("%s %s session: next sequence numbers set to %d / %d", lp, role, sender, target)
        return before, {"next_sender": sender, "next_target": target}

    # --- callbacks (quickfix threads, through application.py) -----------------------------

    def _session(self, sid: fix.SessionID) -> tuple[Link, Role]:
        return self._by_session[sid.toString()]

    def logged(self, sid: fix.SessionID, role: Role, up: bool) -> None:
        link, _ = self._session(sid)
        log.info("%s %s session %s", link.lp, role.value, "logged on" if up else "logged off")
        if up:
            self.reconnects.logged_on(sid.toString())
        else:
            self.reconnects.logged_off(sid.toString(), time.monotonic())
        if role is Role.QUOTE:
            link.quote_up = up
            if up:
                self._subscribe(link)
            else:
                link.quotes.clear()
        else:
            link.trade_up = up
            if up:
                self.status_requests.logged_on(link, time.time_ns())
        self._announce(link)

    def to_admin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        msg_type = msg.getHeader().getField(wire.MSG_TYPE)
        if msg_type == "A":
            key = sid.toString()
            link, role = self._session(sid)
            msg.setField(wire.USERNAME, link.session(role).logon_username)
            password = self._passwords[key]
            if password:
                msg.setField(wire.PASSWORD, password)
            if key in self._reset_on_logon:
                self._reset_on_logon.discard(key)
                msg.setField(_RESET_FLAG, "Y")  # quickfix resets our side as it sends this
        elif msg_type == "3":
            link, role = self._session(sid)
            if role is Role.TRADE:  # the message we could not read may have been a report
                self.status_requests.want(link.lp, Reason.OUR_REJECT, None)

    def from_admin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        msg_type = msg.getHeader().getField(wire.MSG_TYPE)
        if msg_type not in ("3", "4", "5"):
            return
        link, role = self._session(sid)
        values = wire.fields(msg.toString())
        if msg_type == "4":
            if role is Role.TRADE and values.get(_GAP_FILL_FLAG) == "Y":
                self.status_requests.want(link.lp, Reason.GAP_FILL, None)
            return
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

    def to_app(self, msg: fix.Message, sid: fix.SessionID, role: Role) -> None:
        if role is not Role.TRADE:
            return
        header = msg.getHeader()
        if header.isSetField(_POSS_DUP) and header.getField(_POSS_DUP) == "Y":
            # Never resend an order from the store: its fate is asked for with a status
            # request at logon, so quickfix sends a gap fill instead.
            raise fix.DoNotSend()
        if header.getField(wire.MSG_TYPE) == "D":
            link, _ = self._session(sid)
            sent = self._sent
            sent[(link.lp, int(header.getField(wire.MSG_SEQ_NUM)))] = msg.getField(wire.CL_ORD_ID)
            if len(sent) > _SENT_REMEMBERED:
                sent.popitem(last=False)

    def quote_message(self, msg: fix.Message, sid: fix.SessionID) -> None:
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

    def trade_message(self, msg: fix.Message, sid: fix.SessionID) -> None:
        link, _ = self._session(sid)
        raw = msg.toString()
        values = wire.fields(raw)
        msg_type = values.get(wire.MSG_TYPE)
        if msg_type == "8":
            received = ReceivedReport(
                link.config.lp_id, ExecReport.parse(values), raw, time.time_ns()
            )
            self.sink.put(received, lambda durable: self._resolve_report(link, received, durable))
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

    # --- applying what was journaled (the journal's thread) -------------------------------

    def _resolve_report(
        self, link: Link, received: ReceivedReport, durable: bool
    ) -> list[InboxItem]:
        report = received.report
        lp = link.lp
        if not durable:
            if self.book.knows(report.cl_ord_id):
                log.error(
                    "%s report %s for %s could not be journaled: not applied; asking the LP "
                    "for the order's status", lp, report.exec_id, report.cl_ord_id,
                )  # fmt: skip
                self.status_requests.want(lp, Reason.NOT_JOURNALED, report.cl_ord_id)
            else:
                log.warning("%s report %s: unknown ClOrdID %r", lp, report.exec_id,
                            report.cl_ord_id)  # fmt: skip
            return []
        if self.book.seen(lp, report):
            log.warning("%s duplicate ExecID %s ignored", lp, report.exec_id)
            return []
        applied = self.book.apply(lp, report, received.received_ns)
        if applied.reason:
            log.warning("%s report %s: %s", lp, report.exec_id, applied.reason)
        if applied.unusable:
            self.status_requests.want(lp, Reason.UNUSABLE, report.cl_ord_id)
        if applied.final is not None:
            self.health.record(applied.final)
        return [LpExecution(lp, r, received.received_ns) for r in applied.reports]

    def _reject(self, link: Link, cl_ord_id: str, text: str) -> None:
        """The LP refused an order outright (a Reject or BusinessMessageReject of its D)."""
        refusal = ExecReport(cl_ord_id, "", "8", "8", None, None, None, None, None, text, "")

        def resolve(_: bool) -> list[InboxItem]:
            now = time.time_ns()
            applied = self.book.apply(link.lp, refusal, now)
            if applied.final is not None:
                self.health.record(applied.final)
            return [LpExecution(link.lp, r, now) for r in applied.reports]

        self.sink.put(None, resolve)

    def _refuse(self, order: LpOrder, text: str, now: int) -> None:
        """An order that never left: rejected at once, so the client is answered."""
        log.warning("order %s not sent: %s", order.cl_ord_id, text)
        report = LpReport(order.cl_ord_id, ReportStatus.REJECTED, text=text)
        self.sink.put(None, lambda _: [LpExecution(order.lp, report, now)])

    # --- the timer's thread --------------------------------------------------------------

    def _timer_loop(self) -> None:
        while not self._stop.wait(_TICK):
            try:
                self.reconnects.tick(time.monotonic())
                self.status_requests.tick(time.time_ns())
            except Exception:
                log.exception("fix timer pass failed")

    # --- helpers ----------------------------------------------------------------------------

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
