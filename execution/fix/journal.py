"""Where what the LPs said is written down before the service loop hears of it.

One writer per fact: the bridge is the only writer of ``lp_execution_reports`` (every report
for one of our orders, raw message included, a repeated ExecID stored once) and of
``lp_health_samples``. The service writes ``lp_orders`` (the order before it is sent, and its
state as it applies the reports) and the deals. A report is committed here before its
``LpExecution`` enters the inbox, so nothing the service acts on is missing from the
warehouse; if the service dies in between, the restart's status requests make up the rest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import psycopg

from execution.fix.health import HealthSample, LpHealth
from execution.fix.orders import ExecReport
from execution.inbox import Inbox, InboxItem

log = logging.getLogger(__name__)

_INSERT_REPORT = """
    INSERT INTO lp_execution_reports (lp_id, lp_order_id, exec_id, exec_type, ord_status,
        last_px, last_qty, cum_qty, leaves_qty, text, received_at, raw_message)
    SELECT %s, o.id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s
    FROM lp_orders o WHERE o.cl_ord_id = %s
    ON CONFLICT (lp_id, exec_id) DO NOTHING
"""

_INSERT_HEALTH = """
    INSERT INTO lp_health_samples (lp_id, symbol, period_start, period_end, orders,
        filled_orders, rejected_orders, canceled_orders, filled_volume, latency_ms_sum,
        latency_ms_max, latency_samples, slippage_sum, slippage_volume)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (lp_id, symbol, period_start) DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    lp_id: int
    report: ExecReport
    raw: str
    received_ns: int


class ReportSink(Protocol):
    """Takes a received report (or None) and the inbox items it produced, in arrival order."""

    def put(self, received: ReceivedReport | None, items: list[InboxItem]) -> None: ...


class DirectSink:
    """No warehouse: items go straight to the inbox (unit tests, the raw benchmark leg)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def put(self, received: ReceivedReport | None, items: list[InboxItem]) -> None:
        for item in items:
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


def _ns_time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


class WarehouseJournal:
    """A thread that commits reports in batches, then hands their items to the inbox, and
    writes the LP health figures every ``health_period`` seconds."""

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
        self._queue: queue.SimpleQueue[tuple[ReceivedReport | None, list[InboxItem]] | None]
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="fix-journal", daemon=True)
        self._period_start = time.time_ns()

    def put(self, received: ReceivedReport | None, items: list[InboxItem]) -> None:
        self._queue.put((received, items))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued and the health figures so far, then end the thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        next_health = time.monotonic() + self.health_period
        stopping = False
        while not stopping:
            batch, stopping = self._take(max(next_health - time.monotonic(), 0.0))
            while True:
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.database_url)
                    self._write(conn, batch)
                    if stopping or time.monotonic() >= next_health:
                        self._write_health(conn)
                        next_health = time.monotonic() + self.health_period
                    break
                except psycopg.OperationalError:
                    # journal first: nothing goes on until the warehouse has it
                    log.exception("fix journal: warehouse unreachable; retrying")
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.5)
            for _, items in batch:
                for item in items:
                    self.inbox.put(item)
        if conn is not None:
            conn.close()

    def _take(
        self, timeout: float
    ) -> tuple[list[tuple[ReceivedReport | None, list[InboxItem]]], bool]:
        batch: list[tuple[ReceivedReport | None, list[InboxItem]]] = []
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

    def _write(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        batch: list[tuple[ReceivedReport | None, list[InboxItem]]],
    ) -> None:
        rows = [
            _report_row(received)
            for received, _ in batch
            if received is not None and _storable(received.report)
        ]
        if not rows:
            return
        try:
            with conn.cursor() as cur:
                cur.executemany(_INSERT_REPORT, rows)
            conn.commit()
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            conn.rollback()
            self._write_one_by_one(conn, rows)

    @staticmethod
    def _write_one_by_one(
        conn: psycopg.Connection[tuple[object, ...]], rows: list[tuple[object, ...]]
    ) -> None:
        """A row the warehouse refuses is logged with its reason and left out, alone."""
        for row in rows:
            try:
                conn.execute(_INSERT_REPORT, row)
                conn.commit()
            except psycopg.OperationalError:
                raise
            except psycopg.Error as error:
                conn.rollback()
                log.error("fix journal: report %r refused: %s", row[1], error)

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
    r = received.report
    return (
        received.lp_id,
        r.exec_id,
        r.exec_type,
        r.ord_status,
        _positive(r.last_px),
        r.last_qty if r.last_qty is not None and r.last_qty >= 0 else None,
        r.cum_qty if r.cum_qty is not None and r.cum_qty >= 0 else Decimal(0),
        r.leaves_qty if r.leaves_qty is not None and r.leaves_qty >= 0 else Decimal(0),
        r.text or None,
        _ns_time(received.received_ns),
        received.raw,
        r.cl_ord_id,
    )


def _health_row(lp_id: int, s: HealthSample, start: int, end: int) -> tuple[object, ...]:
    ms = Decimal(1_000_000)
    return (
        lp_id,
        s.symbol,
        _ns_time(start),
        _ns_time(end),
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
    )
