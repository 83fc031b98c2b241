"""How a simulated LP behaves: spreads, latency, partial fills, rejects, last look, stale or
crossed quotes and dropped connections, and the ways real LPs misbehave on the wire: reports
lost in transit and gap-filled instead of resent, ExecIDs reused, impossible or unparseable
reports, unanswered status requests. Ratios are drawn from a seeded generator; a test
scripts exact outcomes with ``Behaviour.plan`` instead (one entry per incoming order)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Outcome(StrEnum):
    FILL = "fill"
    PARTIAL = "partial"  # fill part, cancel the rest (IOC) or reject the whole (FOK)
    REJECT = "reject"  # refused outright: no liquidity
    LAST_LOOK = "last_look"  # refused after the latency, the price having been looked at
    HOLD = "hold"  # no answer until `LpSimulator.release()`


class Misreport(StrEnum):
    """A fill report told wrongly (the order itself is filled as it should be)."""

    OVERFILL = "overfill"  # CumQty twice the order
    NEGATIVE = "negative"  # CumQty below zero
    GARBLED = "garbled"  # LastPx not a number: the client's engine rejects the message


@dataclass
class Behaviour:
    spread_points: int = 10
    quote_interval: float = 0.05  # seconds between quote updates
    latency: float = 0.0  # seconds before an order is answered
    partial_ratio: float = 0.0
    partial_fraction: Decimal = Decimal("0.5")
    reject_ratio: float = 0.0
    last_look_ratio: float = 0.0
    crossed_ratio: float = 0.0  # share of quote updates sent with bid above ask
    stale: bool = False  # stop sending quote updates (the last ones go stale)
    disconnect_every: float = 0.0  # seconds; 0 = never drop the connections
    ack: bool = False  # send ExecType 0 (new) before the outcome
    password: str = ""  # required on Logon (tag 554) when set
    username: str = ""  # required on Logon (tag 553) when set
    down: bool = False  # refuse every Logon (the LP is out of service)
    seed: int = 1
    plan: deque[Outcome] = field(default_factory=deque)
    reuse_exec_ids: bool = False  # every report of an order carries the same ExecID
    lose_reports: int = 0  # the next N execution reports never arrive (their MsgSeqNum is used)
    gap_fill_resends: bool = False  # a ResendRequest gets a gap fill, never a resent report
    answer_status: bool = True  # False: OrderStatusRequests go unanswered
    misreports: deque[Misreport] = field(default_factory=deque)  # for the next fill reports

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - simulation, not security

    def outcome(self) -> Outcome:
        if self.plan:
            return self.plan.popleft()
        draw = self._random.random()
        for ratio, outcome in (
            (self.reject_ratio, Outcome.REJECT),
            (self.last_look_ratio, Outcome.LAST_LOOK),
            (self.partial_ratio, Outcome.PARTIAL),
        ):
            if draw < ratio:
                return outcome
            draw -= ratio
        return Outcome.FILL

    def crossed(self) -> bool:
        return self.crossed_ratio > 0 and self._random.random() < self.crossed_ratio
