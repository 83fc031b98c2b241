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

from enum import StrEnum

from execution.fix.orders import Working

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
