"""One pass of the service loop: what it took in and what must be journaled, then sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from brokerstack.streams import Tick as StreamTick
from execution import contracts as c
from execution.lp import LpOrder
from execution.records import JournalRecord, Outcome


@dataclass(frozen=True, slots=True)
class LpFill:
    """What one accepted execution report changes on its LP order row."""

    cl_ord_id: str
    quantity: Decimal  # lots filled by this report (0 for rejects and cancels)
    price: Decimal | None
    status: str  # lp_orders.status after the report
    lp_order_ref: str = ""  # the LP's OrderID, when the report named it


@dataclass(frozen=True, slots=True)
class ProcessedCommand:
    request_id: str
    command: bytes
    reply: bytes
    applied_at: int  # ns: the core's `now` for it (each input has a time of its own)


@dataclass(slots=True)
class Batch:
    now: int  # the time of the input being applied (then of the last one applied)
    acks: list[bytes] = field(default_factory=list)  # command stream entry ids
    replies: list[tuple[bytes, bytes]] = field(default_factory=list)  # (requester, reply)
    processed: list[ProcessedCommand] = field(default_factory=list)
    journal: list[JournalRecord] = field(default_factory=list)
    events: list[c.Event] = field(default_factory=list)
    lp_orders: list[LpOrder] = field(default_factory=list)
    lp_fills: list[LpFill] = field(default_factory=list)
    lp_ticks: list[StreamTick] = field(default_factory=list)  # raw LP quotes for the ticks stream
    # for the metrics: the replies to new orders, and the LP orders a report ended
    # (ClOrdID, when the report arrived, ns)
    orders: list[c.Reply] = field(default_factory=list)
    lp_done: list[tuple[str, int]] = field(default_factory=list)
    # for the log: each command handled and its replies (written once they are published)
    handled: list[tuple[c.Command, list[c.Reply]]] = field(default_factory=list)

    @classmethod
    def merged(cls, batches: list[Batch]) -> Batch:
        """Consecutive batches as one (committed in one transaction, in their order)."""
        if len(batches) == 1:
            return batches[0]
        out = cls(batches[-1].now)
        for batch in batches:
            out.acks += batch.acks
            out.replies += batch.replies
            out.processed += batch.processed
            out.journal += batch.journal
            out.events += batch.events
            out.lp_orders += batch.lp_orders
            out.lp_fills += batch.lp_fills
            out.lp_ticks += batch.lp_ticks
            out.orders += batch.orders
            out.lp_done += batch.lp_done
            out.handled += batch.handled
        return out

    def add(self, outcome: Outcome) -> None:
        self.journal.extend(outcome.journal)
        self.events.extend(outcome.events)
        self.lp_orders.extend(outcome.lp_orders)

    @property
    def durable(self) -> bool:
        """Whether anything must reach the warehouse before this batch may be answered."""
        return bool(self.journal or self.processed or self.lp_fills)

    @property
    def empty(self) -> bool:
        return not (self.durable or self.acks or self.events or self.lp_orders or self.lp_ticks)
