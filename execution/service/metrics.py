"""The execution service's Prometheus metrics, in the process's default registry (scraped from
its operations port, ``brokerstack.ops``).

The loop's thread pays no lock for them: it only notes in the batch what the counters need
(the replies to new orders, the LP orders a report ended) and a dict entry per usable LP
quote; the committer's publishing thread counts a batch once it is answered, and the figures
that need Redis or a clock are computed when Prometheus scrapes.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter as Tally
from collections.abc import Iterable, Sequence

import redis
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from execution import contracts as c
from execution.lp import LpOrder
from execution.service.batch import Batch

log = logging.getLogger(__name__)

ORDERS = Counter(
    "brokerstack_orders",
    "New orders answered, by outcome (the order state the reply reports: filled, routed, "
    "placed, canceled, ...; or rejected) and reject code ('' unless rejected). A request id "
    "answered before (a retry) is not counted again.",
    ["outcome", "reject_code"],
)
JOURNAL_BATCH_RECORDS = Histogram(
    "brokerstack_journal_batch_records",
    "Records written per journal transaction: orders, deals, positions, balance changes, LP "
    "orders and their reports, processed commands.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
JOURNAL_COMMIT_SECONDS = Histogram(
    "brokerstack_journal_commit_seconds",
    "Seconds to write and commit one journal transaction (a batch, or batches merged while "
    "the journal was behind).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
LP_SESSION_UP = Gauge(
    "brokerstack_lp_session_up",
    "1 while the LP session is logged on, else 0 (session: quote or trade over FIX, "
    "in-process for the demo LPs).",
    ["lp", "session"],
)
LP_FILL_LATENCY = Histogram(
    "brokerstack_lp_fill_latency_seconds",
    "Seconds from handing an LP order to its gateway to the LP's report that ended it "
    "(filled, rejected or canceled).",
    ["lp"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# LP orders remembered until their end; one never answered (lost with its LP) ages out.
_SENT_REMEMBERED = 100_000


def outcome(reply: c.Reply) -> tuple[str, str]:
    """The labels of a reply to a new order."""
    if isinstance(reply, c.Rejected):
        return "rejected", reply.code.value
    return (reply.state.value if reply.state is not None else "accepted"), ""


def journaled(batch: Batch, seconds: float) -> None:
    """One journal transaction committed."""
    JOURNAL_BATCH_RECORDS.observe(len(batch.journal) + len(batch.processed) + len(batch.lp_fills))
    JOURNAL_COMMIT_SECONDS.observe(seconds)


class Published:
    """What the committer's publishing thread counts of each batch (only that thread uses it):
    the answers to new orders, and LP orders from their sending to the report that ends them."""

    def __init__(self) -> None:
        self._sent: dict[str, tuple[str, int]] = {}  # ClOrdID -> (LP, sent at, ns)

    def sending(self, orders: Sequence[LpOrder]) -> None:
        if not orders:
            return
        now = time.time_ns()
        sent = self._sent
        for order in orders:
            sent[order.cl_ord_id] = (order.lp, now)
        while len(sent) > _SENT_REMEMBERED:
            del sent[next(iter(sent))]

    def answered(self, batch: Batch) -> None:
        for (state, code), count in Tally(outcome(reply) for reply in batch.orders).items():
            ORDERS.labels(state, code).inc(count)
        for cl_ord_id, received_ns in batch.lp_done:
            sent = self._sent.pop(cl_ord_id, None)
            if sent is not None:
                lp, sent_ns = sent
                LP_FILL_LATENCY.labels(lp).observe(max(received_ns - sent_ns, 0) / 1e9)


class QuoteAges(Collector):
    """``brokerstack_lp_quote_age_seconds``: since each LP's last usable quote reached the loop
    (``quoted``: LP -> ns, written by the loop); +Inf for an LP that has not quoted yet."""

    def __init__(self, lps: Iterable[str], quoted: dict[str, int]) -> None:
        self.lps = sorted(lps)
        self.quoted = quoted

    def describe(self) -> Iterable[Metric]:
        yield self._family()

    def collect(self) -> Iterable[Metric]:
        quoted = self.quoted.copy()  # one step under the GIL: the loop may add an LP meanwhile
        now = time.time_ns()
        family = self._family()
        for lp in self.lps:
            at = quoted.get(lp)
            family.add_metric([lp], math.inf if at is None else max(now - at, 0) / 1e9)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "brokerstack_lp_quote_age_seconds",
            "Seconds since the last quote from the LP reached the service (+Inf: none yet).",
            labels=["lp"],
        )


class CommandsStream(Collector):
    """The command stream's backlog, read from Redis at scrape time (on a client of its own).
    A Redis that does not answer leaves these out of the scrape rather than failing it."""

    def __init__(self, client: redis.Redis, stream: str, group: str) -> None:
        self.client = client
        self.stream = stream
        self.group = group

    def describe(self) -> Iterable[Metric]:
        yield from self._families()

    def collect(self) -> Iterable[Metric]:
        try:
            length, pending, lag = self._read()
        except redis.RedisError as error:
            log.warning("commands stream metrics unavailable (%s)", error)
            return
        families = self._families()
        families[0].add_metric([self.stream], length)
        if pending is not None:
            families[1].add_metric([self.stream, self.group], pending)
            families[2].add_metric([self.stream, self.group], lag)
        yield from families

    def _read(self) -> tuple[int, int | None, float]:
        """Entries in the stream; for the group (None while it does not exist): entries
        delivered and not acknowledged, and the age of the oldest entry not done with."""
        pipe = self.client.pipeline(transaction=False)
        pipe.xlen(self.stream)
        pipe.xinfo_groups(self.stream)
        pipe.xpending(self.stream, self.group)
        length, groups, summary = pipe.execute()
        ours = next((g for g in groups if _text(g["name"]) == self.group), None)
        if ours is None:
            return int(length), None, 0.0
        pending = int(summary["pending"])
        oldest = summary["min"] if pending else None
        if oldest is None:  # nothing in flight: the first entry never delivered, if any
            after = self.client.xrange(
                self.stream, min=f"({_text(ours['last-delivered-id'])}", count=1
            )
            oldest = after[0][0] if after else None
        if oldest is None:
            return int(length), pending, 0.0
        added_ms = int(_text(oldest).partition("-")[0])
        return int(length), pending, max(time.time() * 1000 - added_ms, 0.0) / 1000

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "brokerstack_commands_stream_length",
                "Entries in the shard's command stream (trimmed as commands are answered).",
                labels=["stream"],
            ),
            GaugeMetricFamily(
                "brokerstack_commands_pending",
                "Commands read by the service and not yet answered and acknowledged.",
                labels=["stream", "group"],
            ),
            GaugeMetricFamily(
                "brokerstack_commands_lag_seconds",
                "Age of the oldest command the service has not answered (pending or not yet "
                "read); 0 when caught up.",
                labels=["stream", "group"],
            ),
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
