"""When the bridge asks an LP for an order's status: at once for the first reason, then no
sooner than the backoff allows (a logon always asks), never more than a minute apart."""

from __future__ import annotations

import itertools
from decimal import Decimal

from execution.contracts import Side
from execution.fix import inquiries
from execution.fix.inquiries import CAP_NS, Reason
from execution.fix.orders import Working
from execution.lp import LpOrder, Purpose

S = 1_000_000_000


def _working(timeout_s: int = 2) -> Working:
    order = LpOrder("bs-1", "lp-a", "EURUSD", Side.BUY, 10_000, Purpose.HEDGE, None, None,
                    False, 0)  # fmt: skip
    return Working(order, "EURUSD", Decimal(1), 0, timeout_ns=timeout_s * S)


def test_the_first_request_is_due_one_timeout_after_sending_then_twice_as_long_each_time() -> None:
    working = _working()
    assert working.due_ns == 2 * S
    now, asked_at = working.due_ns, []
    for _ in range(8):
        assert inquiries.may_ask(working, Reason.TIMEOUT, now)
        inquiries.asked(working, now)
        asked_at.append(now)
        now = working.due_ns
    gaps = [b - a for a, b in itertools.pairwise(asked_at)]
    assert gaps == [2 * S, 4 * S, 8 * S, 16 * S, 32 * S, CAP_NS, CAP_NS]
    assert inquiries.loud(working)


def test_an_unusable_report_asks_at_once_the_first_time_and_then_waits_for_the_backoff() -> None:
    working = _working()
    assert inquiries.may_ask(working, Reason.UNUSABLE, 1 * S)
    inquiries.asked(working, 1 * S)
    # the LP answers with something unusable again at once: not asked again yet ...
    assert not inquiries.may_ask(working, Reason.UNUSABLE, 1 * S + 1)
    assert working.due_ns == 3 * S  # ... but when the backoff allows
    assert inquiries.may_ask(working, Reason.UNUSABLE, 3 * S)
    # a logon always asks: the request before may have been lost with the connection
    assert inquiries.may_ask(working, Reason.LOGON, 3 * S + 1)
