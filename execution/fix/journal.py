"""Where what the LPs said is written down before anything acts on it.

One writer per fact: the bridge is the only writer of ``lp_execution_reports`` (every report
for one of our orders, raw message included, the same report stored once) and of
``lp_health_samples``. The service writes ``lp_orders`` (the order before it is sent, and its
state as it applies the reports) and the deals.

Nothing a report says is applied before its row is committed: the journal writes a batch of
received reports, then for each one calls back whoever received it with whether its row is
in the warehouse (written now, or already there as the very same report), and only then puts
what that produced in the inbox. A report whose row cannot be written is not applied at all
(the bridge asks the LP for the order's status instead). If the service dies between a
committed report and its own journal, the restart's status requests make up the rest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, cast

import psycopg

from brokerstack.retries import retrying
from brokerstack.times import to_datetime
from execution.fix.health import HealthSample, LpHealth
from execution.fix.orders import ExecReport
from execution.inbox import Inbox, InboxItem

log = logging.getLogger(__name__)

# Every input row that names a journaled LP order is in the table afterwards: inserted now, or
# already there as the same report (the conflict), so the SELECT returns the durable ones.
_INSERT_REPORTS = """
    WITH u AS (
        SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],
                             %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
                             %s::text[], %s::timestamptz[], %s::text[])
            WITH ORDINALITY AS u(lp, cl, exec_id, exec_type, ord_status, last_px, last_qty,
                                 cum_qty, leaves_qty, text, received_at, raw, n)
    ), known AS (
        SELECT u.*, o.id AS lp_order_id FROM u JOIN lp_orders o ON o.cl_ord_id = u.cl
    ), stored AS (
        INSERT INTO lp_execution_reports (lp_id, lp_order_id, exec_id, exec_type, ord_status,
            last_px, last_qty, cum_qty, leaves_qty, text, received_at, raw_message)
        SELECT lp, lp_order_id, exec_id, exec_type, ord_status, last_px, last_qty, cum_qty,
               leaves_qty, text, received_at, raw
        FROM known
        ON CONFLICT ON CONSTRAINT lp_execution_reports_same_report DO NOTHING
    )
    SELECT n FROM known
"""

_INSERT_HEALTH = """
    INSERT INTO lp_health_samples (lp_id, symbol, period_start, period_end, orders,
        filled_orders, rejected_orders, canceled_orders, filled_volume, latency_ms_sum,
        latency_ms_max, latency_samples, slippage_sum, slippage_volume, status_requests)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (lp_id, symbol, period_start) DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    lp_id: int
    report: ExecReport
    raw: str
    received_ns: int


# Called once the report's row is in the warehouse (True) or could not be written (False);
# what it returns goes to the inbox.
Resolve = Callable[[bool], list[InboxItem]]


class ReportSink(Protocol):
    """Takes a received report (or None: nothing to write) and how to resolve it, in
    arrival order."""

    def put(self, received: ReceivedReport | None, resolve: Resolve) -> None: ...


class DirectSink:
    """No warehouse: resolved at once (unit tests, the raw benchmark leg)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def put(self, received: ReceivedReport | None, resolve: Resolve) -> None:
        for item in resolve(True):
            self.inbox.put(item)


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def _storable(report: ExecReport) -> bool:
    """Whether the row meets the table's checks (the data dictionary already made it so for
    anything quickfix let through; a row that cannot be stored must not block the rest)."""
    return bool(report.exec_id) and all(
        len(code) == 1 and (code.isdigit() or code.isupper())
        for code in (report.exec_type, report.ord_status)
    )


_Entry = tuple[ReceivedReport | None, Resolve]


class WarehouseJournal:
    """A thread that commits reports in batches, then resolves them in arrival order and hands
    what they produced to the inbox, and writes the LP health figures every
    ``health_period`` seconds."""

    def __init__(
        self,
        database_url: str,
        inbox: Inbox,
        health: LpHealth,
        lp_ids: dict[str, int],
        health_period: float = 10.0,
        batch: int = 500,
    ) -> None:
        self.database_url = database_url
        self.inbox = inbox
        self.health = health
        self.lp_ids = lp_ids
        self.health_period = health_period
        self._batch = batch
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="fix-journal", daemon=True)
        self._period_start = time.time_ns()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._next_health = 0.0  # monotonic seconds

    def put(self, received: ReceivedReport | None, resolve: Resolve) -> None:
        self._queue.put((received, resolve))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued and the health figures so far, then end the thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        # journal first: nothing goes on until the warehouse has it
        stores = retrying(
            "fix journal: writing reports", psycopg.OperationalError,
            level=logging.ERROR, logger=log,
        )  # fmt: skip
        self._next_health = time.monotonic() + self.health_period
        stopping = False
        while not stopping:
            batch, stopping = self._take(max(self._next_health - time.monotonic(), 0.0))
            durable = stores(self._store, batch, stopping)
            for index, (received, resolve) in enumerate(batch):
                self._resolve(resolve, received is None or index in durable)
        if self._conn is not None:
            self._conn.close()

    def _store(self, batch: list[_Entry], stopping: bool) -> set[int]:
        """One try at writing the batch (and the health figures when due); a try that finds
        the warehouse unreachable drops the connection, the next one connects again."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.database_url)
            durable = self._write(self._conn, batch)
            if stopping or time.monotonic() >= self._next_health:
                self._write_health(self._conn)
                self._next_health = time.monotonic() + self.health_period
            return durable
        except psycopg.OperationalError:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            raise

    def _resolve(self, resolve: Resolve, durable: bool) -> None:
        try:
            items = resolve(durable)
        except Exception:  # the bridge's code; this thread must live on
            log.exception("fix journal: resolving a report failed")
            return
        for item in items:
            self.inbox.put(item)

    def _take(self, timeout: float) -> tuple[list[_Entry], bool]:
        batch: list[_Entry] = []
        try:
            entry = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return batch, False
        while entry is not None:
            batch.append(entry)
            if len(batch) >= self._batch:
                return batch, False
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _write(self, conn: psycopg.Connection[tuple[object, ...]], batch: list[_Entry]) -> set[int]:
        """Write the batch's reports; the batch indexes of those whose row is in the table."""
        rows = {
            index: _report_row(received)
            for index, (received, _) in enumerate(batch)
            if received is not None and _storable(received.report)
        }
        if not rows:
            return set()
        try:
            durable = self._insert(conn, list(rows.items()))
            conn.commit()
            return durable
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            conn.rollback()
            return self._write_one_by_one(conn, list(rows.items()))

    @staticmethod
    def _insert(
        conn: psycopg.Connection[tuple[object, ...]], rows: list[tuple[int, tuple[object, ...]]]
    ) -> set[int]:
        columns = [list(column) for column in zip(*(row for _, row in rows), strict=True)]
        found = conn.execute(_INSERT_REPORTS, columns).fetchall()
        return {rows[cast(int, n) - 1][0] for (n,) in found}

    def _write_one_by_one(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        rows: list[tuple[int, tuple[object, ...]]],
    ) -> set[int]:
        """A row the warehouse refuses is logged with its reason and left out, alone."""
        durable: set[int] = set()
        for row in rows:
            try:
                durable |= self._insert(conn, [row])
                conn.commit()
            except psycopg.OperationalError:
                raise
            except psycopg.Error as error:
                conn.rollback()
                log.error("fix journal: report %r refused: %s", row[1][2], error)
        return durable

    def _write_health(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        start, end = self._period_start, time.time_ns()
        samples = self.health.drain()
        self._period_start = end
        rows = [
            _health_row(self.lp_ids[s.lp], s, start, end) for s in samples if s.lp in self.lp_ids
        ]
        if rows:
            with conn.cursor() as cur:
                cur.executemany(_INSERT_HEALTH, rows)
            conn.commit()


def _report_row(received: ReceivedReport) -> tuple[object, ...]:
    """The columns of _INSERT_REPORTS' unnest, in order."""
    r = received.report
    return (
        received.lp_id,
        r.cl_ord_id,
        r.exec_id,
        r.exec_type,
        r.ord_status,
        _positive(r.last_px),
        r.last_qty if r.last_qty is not None and r.last_qty >= 0 else None,
        r.cum_qty if r.cum_qty is not None and r.cum_qty >= 0 else Decimal(0),
        r.leaves_qty if r.leaves_qty is not None and r.leaves_qty >= 0 else Decimal(0),
        r.text or None,
        to_datetime(received.received_ns),
        received.raw,
    )


def _health_row(lp_id: int, s: HealthSample, start: int, end: int) -> tuple[object, ...]:
    ms = Decimal(1_000_000)
    return (
        lp_id,
        s.symbol,
        to_datetime(start),
        to_datetime(end),
        s.orders,
        s.filled_orders,
        s.rejected_orders,
        s.canceled_orders,
        s.filled_volume,
        (Decimal(s.latency_ns_sum) / ms).quantize(Decimal("0.001")),
        (Decimal(s.latency_ns_max) / ms).quantize(Decimal("0.001")),
        s.latency_samples,
        s.slippage_sum,
        s.slippage_volume,
        s.status_requests,
    )
