"""How a simulated LP behaves: spreads, latency, partial fills, rejects, last look, stale or
crossed quotes and dropped connections. Ratios are drawn from a seeded generator; a test
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
    down: bool = False  # refuse every Logon (the LP is out of service)
    seed: int = 1
    plan: deque[Outcome] = field(default_factory=deque)

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
