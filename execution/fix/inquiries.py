"""When to ask an LP for an order's status (OrderStatusRequest H) instead of waiting.

An order whose report was lost or could not be used would otherwise stay "routed" until the
next trade logon. The bridge asks:

- at every trade logon, for everything in flight (the connection may have taken reports);
- when the LP gap-fills over messages we never got (SequenceReset-GapFill on the trade
  session: they may have been reports);
- when we reject one of the LP's messages at session level (it may have been a report);
- when a report cannot be used (impossible CumQty, no price) or cannot be journaled;
- when no final report came ``order_timeout_ms`` after the order was sent.

Asking again backs off: after the n-th request the next is due only ``timeout x 2^(n-1)``
later (at most ``CAP_NS``), so an LP that keeps answering with something unusable is not
flooded. It never stops while the order is open: every request is logged and counted in the
LP's health figures (``status_requests``).
"""

from __future__ import annotations

import logging
import queue
from enum import StrEnum

import quickfix as fix

from execution.fix import wire
from execution.fix.health import LpHealth
from execution.fix.links import Link
from execution.fix.orders import OrderBook, Working

log = logging.getLogger(__name__)

CAP_NS = 60_000_000_000  # the longest wait between two status requests for one order
_LOUD_AFTER = 3  # from this request on, an order still open is logged as an error


class Reason(StrEnum):
    LOGON = "trade session logged on"
    GAP_FILL = "the LP gap-filled over messages we never got"
    OUR_REJECT = "we rejected a message of the LP"
    UNUSABLE = "a report could not be used"
    NOT_JOURNALED = "a report could not be journaled"
    TIMEOUT = "no final report in time"


def gap_ns(working: Working, asked: int) -> int:
    """How long after the ``asked``-th request the next one is due."""
    return min(CAP_NS, working.timeout_ns << min(max(asked - 1, 0), 40))


def may_ask(working: Working, reason: Reason, now_ns: int) -> bool:
    """Whether a request for ``reason`` goes out now; if not, the next one is brought
    forward to when the backoff allows it (a logon always asks: an earlier request may have
    been lost with the connection)."""
    if reason is Reason.LOGON or working.asked == 0:
        return True
    allowed = working.last_asked_ns + gap_ns(working, working.asked)
    if now_ns >= allowed:
        return True
    working.due_ns = min(working.due_ns, allowed)
    return False


def asked(working: Working, now_ns: int) -> None:
    working.asked += 1
    working.last_asked_ns = now_ns
    working.due_ns = now_ns + gap_ns(working, working.asked)


def loud(working: Working) -> bool:
    return working.asked >= _LOUD_AFTER


class StatusRequests:
    """Sends the requests: wanted ones (from any thread, sent on the bridge's timer thread,
    since a quickfix callback may run in the middle of a send) and overdue ones each pass;
    at a logon, at once (before the LP answers our resend request, if it is due one)."""

    def __init__(self, book: OrderBook, links: dict[str, Link], health: LpHealth) -> None:
        self.book = book
        self.links = links
        self.health = health
        self._wanted: queue.SimpleQueue[tuple[str, Reason, str | None]] = queue.SimpleQueue()

    def want(self, lp: str, reason: Reason, cl_ord_id: str | None = None) -> None:
        """Ask for one order's status (None: every order open at the LP)."""
        self._wanted.put((lp, reason, cl_ord_id))

    def logged_on(self, link: Link, now: int) -> None:
        self._ask({w.order.cl_ord_id: (w, Reason.LOGON) for w in self.book.at(link.lp)}, now)

    def tick(self, now: int) -> None:
        asks: dict[str, tuple[Working, Reason]] = {}
        while True:
            try:
                lp, reason, cl_ord_id = self._wanted.get_nowait()
            except queue.Empty:
                break
            with self.book.locked():
                wanted = self.book.working.get(cl_ord_id) if cl_ord_id else None
                workings = [wanted] if wanted else [] if cl_ord_id else self.book.at(lp)
            for working in workings:
                asks.setdefault(working.order.cl_ord_id, (working, reason))
        for working in self.book.due(now):
            asks.setdefault(working.order.cl_ord_id, (working, Reason.TIMEOUT))
        self._ask(asks, now)

    def _ask(self, asks: dict[str, tuple[Working, Reason]], now: int) -> None:
        for working, reason in asks.values():
            link = self.links[working.order.lp]
            if not link.trade_up:
                continue  # the logon asks
            with self.book.locked():
                if not self.book.knows(working.order.cl_ord_id):
                    continue
                if not may_ask(working, reason, now):
                    continue
                asked(working, now)
                number = working.asked
            self._send(link, working, reason, number, now)

    def _send(self, link: Link, working: Working, reason: Reason, number: int, now: int) -> None:
        order = working.order
        msg = wire.order_status_request(order.cl_ord_id, working.lp_symbol, order.side)
        fix.Session.sendToTarget(msg, link.trade_sid)
        self.health.status_request(order.lp, order.symbol)
        level = logging.ERROR if loud(working) else logging.WARNING
        if reason is Reason.LOGON and number == 1:
            level = logging.INFO
        log.log(
            level, "%s: status request %d for %s (%s; open %.1f s)", order.lp, number,
            order.cl_ord_id, reason.value, (now - working.sent_ns) / 1e9,
        )  # fmt: skip
