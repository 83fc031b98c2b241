"""LP health: per LP and symbol, how many orders were filled, rejected or canceled, how fast
the LP answered and how far its fills were from its own quotes (domain.md, Routing: the best
*healthy* LP gets the flow). Counted in the callback thread, written by the journal thread
in periods (one row per LP, symbol and period)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

from execution.fix.orders import Final, slippage
from execution.lp import ReportStatus


@dataclass(slots=True)
class HealthSample:
    lp: str
    symbol: str
    orders: int = 0
    filled_orders: int = 0  # filled in full or in part
    rejected_orders: int = 0
    canceled_orders: int = 0  # IOC rest canceled, nothing or part filled
    filled_volume: Decimal = Decimal(0)  # lots
    latency_ns_sum: int = 0  # send -> first report
    latency_ns_max: int = 0
    latency_samples: int = 0
    slippage_sum: Decimal = Decimal(0)  # price x lots, positive = worse than quoted
    slippage_volume: Decimal = Decimal(0)  # lots for which a quote was known
    status_requests: int = 0  # sent because a final report was late, lost or unusable

    @property
    def fill_ratio(self) -> Decimal | None:
        return Decimal(self.filled_orders) / self.orders if self.orders else None

    @property
    def reject_ratio(self) -> Decimal | None:
        return Decimal(self.rejected_orders) / self.orders if self.orders else None


class LpHealth:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: dict[tuple[str, str], HealthSample] = {}

    def _sample(self, lp: str, symbol: str) -> HealthSample:
        sample = self._samples.get((lp, symbol))
        if sample is None:
            sample = self._samples[(lp, symbol)] = HealthSample(lp, symbol)
        return sample

    def status_request(self, lp: str, symbol: str) -> None:
        with self._lock:
            self._sample(lp, symbol).status_requests += 1

    def record(self, final: Final) -> None:
        working = final.working
        order = working.order
        with self._lock:
            sample = self._sample(order.lp, order.symbol)
            sample.orders += 1
            if working.cum_qty > 0:
                sample.filled_orders += 1
                sample.filled_volume += working.cum_qty
                slip = slippage(working, working.cum_value / working.cum_qty)
                if slip is not None:
                    sample.slippage_sum += slip * working.cum_qty
                    sample.slippage_volume += working.cum_qty
            elif final.status is ReportStatus.REJECTED:
                sample.rejected_orders += 1
            else:
                sample.canceled_orders += 1
            if working.acked_ns is not None:
                latency = max(working.acked_ns - working.sent_ns, 0)
                sample.latency_ns_sum += latency
                sample.latency_ns_max = max(sample.latency_ns_max, latency)
                sample.latency_samples += 1

    def drain(self) -> list[HealthSample]:
        with self._lock:
            samples = list(self._samples.values())
            self._samples = {}
        return samples
