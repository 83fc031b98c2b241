"""The service loop: take what the inbox holds, apply it to the core and hand the batch to the
committer, which journals it in one transaction and only then sends LP orders, replies, events
and prices and acknowledges the commands.

Only this loop's thread touches the core. A batch is whatever arrived since the last pass (up
to a cap), so the commit cost is shared by more commands the busier the service is.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import msgspec
import psycopg
import tenacity

from brokerstack.retries import retrying
from brokerstack.streams import Tick as StreamTick
from execution import contracts as c
from execution.core import Core
from execution.inbox import Commands, Inbox, InboxItem, LpExecution, LpQuote, LpSessionState
from execution.lp import LpGateway, Purpose, ReportStatus
from execution.records import Outcome, order_update
from execution.service.accounts import AccountDirectory
from execution.service.batch import Batch, LpFill, ProcessedCommand
from execution.service.committer import Committer
from execution.service.journal import Journal
from execution.service.publisher import Publisher
from execution.service.reference import Reference, load_reference
from execution.service.restore import build_core, remembered_replies
from execution.service.shard import Shard
from execution.units import price_to_points

log = logging.getLogger(__name__)

_LOOKUP_PAUSE = 0.25  # seconds before commands wait on a warehouse lookup again
_NOT_THE_ANSWER = frozenset({c.RejectCode.COMMAND_EXPIRED, c.RejectCode.IDEMPOTENCY_CONFLICT})

Connect = Callable[[], psycopg.Connection[Any]]


@dataclass(frozen=True, slots=True)
class LoopOptions:
    max_items: int = 256  # inbox items per pass (a command item holds up to a read's count)
    idle_wait: float = 0.05  # seconds the loop waits for input before running timers
    timer_interval_ns: int = 250_000_000
    refresh_interval_ns: int = 5_000_000_000  # re-read account flags set by the back office
    state_interval_ns: int = 250_000_000  # publish the states of changed accounts
    remembered: int = 100_000  # replies reloaded for replayed request ids
    retry_max: float = 2.0  # seconds between journal / Redis retries, at most


@dataclass(frozen=True, slots=True)
class Interrupted:
    """A pass stopped early: the items still to apply, and whether the core must be rebuilt
    first (after an error inside it) or the warehouse is only out of reach for a moment."""

    rest: list[InboxItem]
    rebuild: bool


def request_id_of(data: bytes) -> str:
    """The request id of a command that does not decode, when one can be found, so the
    requester can still match the reject to its request."""
    try:
        fields = msgspec.msgpack.decode(data)
    except msgspec.DecodeError:
        return ""
    rid = fields.get("request_id") if isinstance(fields, dict) else None
    return rid[:200] if isinstance(rid, str) else ""


class ExecutionService:
    def __init__(
        self,
        connect: Connect,
        publisher: Publisher,
        inbox: Inbox,
        gateways: Mapping[str, LpGateway],
        shard: Shard,
        options: LoopOptions = LoopOptions(),
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._connect = connect
        self.publisher = publisher
        self.inbox = inbox
        self.gateways = gateways
        self.shard = shard
        self.options = options
        self.clock = clock
        self.stopping = threading.Event()
        self._rebuilds = retrying(
            "rebuilding", psycopg.Error, most=options.retry_max, stop=self.stopping,
            level=logging.ERROR, logger=log,
        )  # fmt: skip
        self.conn = connect()
        self._carry: list[InboxItem] = []
        self._next_timer = 0
        self._next_refresh = 0
        self._next_states = 0
        self._last_instant = 0
        self._started = False
        self.last_pass = time.monotonic()  # when step() last began: the loop is alive
        self.quoted: dict[str, int] = {}  # LP -> when its last usable quote arrived (metrics)
        self.load()
        self.committer = Committer(
            connect, self.journal, publisher, gateways, inbox, self.stopping,
            retry_max=options.retry_max,
        )  # fmt: skip

    # --- state ----------------------------------------------------------------------------

    def load(self) -> None:
        """(Re)build the core from the warehouse, as of the last committed batch."""
        shard = self.shard
        self.reference: Reference = load_reference(self.conn, shard.lp_prefix)
        core, found = build_core(
            self.conn, self.reference.config, self.reference, shard.consumer,
            shard.entry_prefix, self.options.remembered,
        )  # fmt: skip
        self.core: Core = core
        self.journal = Journal(self.reference, shard.consumer, shard.entry_prefix)
        self.journal.load_routed(self.conn)
        # one map: the directory adds the owners of accounts opened later, which the ledger
        # postings of their first trade need
        self.journal.ledger.owners = found.owners
        self.accounts = AccountDirectory(
            self.conn, self.core, self.reference, found.owners, found.refused
        )
        self.accounts.loaded(found.rows)

    def recover(self, pending: list[Commands]) -> None:
        """Queue the entries this consumer was handed before a restart but never acknowledged,
        after reloading the answers of those that were journaled (never executed twice)."""
        rids = [request_id_of(data) for item in pending for _, data in item.entries]
        answers = remembered_replies(self.conn, self.shard.consumer, [r for r in rids if r])
        for rid, (reply, identity) in answers.items():
            self.core.remember(rid, reply, identity)
        self._carry.extend(pending)
        log.info(
            "re-read %d unacknowledged command(s); %d already journaled, answered from there",
            len(rids), len(answers),
        )  # fmt: skip

    # --- the loop -------------------------------------------------------------------------

    def warm_up(self, timeout: float) -> None:
        """Apply what the LPs send before the first command is read (a restarted service
        would otherwise answer the re-read commands "off quotes"): until every instrument
        has a price, or the timeout."""
        self._start()
        deadline = time.monotonic() + timeout
        instruments = set(self.core.ctx.instruments)
        while time.monotonic() < deadline and not self.stopping.is_set():
            self.step()
            if self.core.ctx.pricing.live >= instruments:
                return
        log.warning("no price yet for %s", sorted(instruments - self.core.ctx.pricing.live))

    def run(self) -> None:
        """Until asked to stop; then the batches made so far are committed and published
        (raises `JournalUnavailable` when that cannot be done)."""
        self._start()
        try:
            while not self.stopping.is_set():
                self.step()
        finally:
            self.committer.close()

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self.committer.start()

    def step(self) -> bool:
        """One pass; False when there was nothing to do."""
        self.last_pass = time.monotonic()
        items = self._carry or self.inbox.take(self.options.idle_wait, self.options.max_items)
        self._carry = []
        batch = Batch(self._instant())
        interrupted = None
        for index, item in enumerate(items):
            if not isinstance(item, Commands):
                batch.now = self._instant()
            interrupted = self._apply(item, batch)
            if interrupted is not None:
                self._carry = interrupted.rest + items[index + 1 :]
                break
        if interrupted is None and self.clock() >= self._next_timer:
            batch.now = self._instant()
            interrupted = self._timers(batch)
        if not batch.empty:
            self.committer.submit(batch)
        if interrupted is not None:
            self._recover_from(interrupted)
        return interrupted is not None or not batch.empty

    def _instant(self) -> int:
        """The time the next input is applied at: the clock, but a microsecond (the
        warehouse's resolution) after the previous input at least, so every input of the
        journal has a time of its own and the order of a day's inputs can be replayed."""
        now = max(self.clock(), self._last_instant + 1_000)
        self._last_instant = now
        return now

    def _recover_from(self, interrupted: Interrupted) -> None:
        if not interrupted.rebuild:
            # a lookup found the warehouse out of reach: the carried items retry after a pause
            self.stopping.wait(_LOOKUP_PAUSE)
            self._reconnect()
            return
        log.warning("rebuilding the core from the warehouse after an internal error")
        self.committer.drain()
        with contextlib.suppress(tenacity.RetryError):  # asked to stop: a restart rebuilds
            self._rebuilds(self._rebuild)

    def _rebuild(self) -> None:
        self._reconnect()
        self.load()
        self.committer.journal = self.journal

    def _apply(self, item: InboxItem, batch: Batch) -> Interrupted | None:
        """Apply one inbox item; after an unexpected error in the core, the items still to
        apply (the core is then rebuilt from what was journaled before the error)."""
        if isinstance(item, Commands):
            return self._commands(item, batch)
        try:
            if isinstance(item, LpQuote):
                self._quote(item, batch)
            elif isinstance(item, LpExecution):
                self._report(item, batch)
            elif isinstance(item, LpSessionState):
                self._session(item, batch)
        except Exception:
            log.exception("core failed on %r", item)
            return Interrupted([], rebuild=True)
        return None

    def _commands(self, item: Commands, batch: Batch) -> Interrupted | None:
        requesters = item.requesters or [b""] * len(item.entries)
        for index, ((entry_id, data), requester) in enumerate(
            zip(item.entries, requesters, strict=True)
        ):
            batch.now = self._instant()
            try:
                outcome, journaled = self._command(data, batch)
            except psycopg.Error as error:
                # the warehouse could not say whether the account or wallet exists: this entry
                # and the rest wait (unacknowledged) until it answers again
                log.warning("looking up the warehouse failed (%s); the command waits", error)
                rest = Commands(item.entries[index:], requesters[index:])
                return Interrupted([rest], rebuild=False)
            except Exception:
                log.exception("core failed on command entry %s", entry_id)
                batch.acks.append(entry_id)
                rid = request_id_of(data)
                internal = c.Rejected(
                    request_id=rid, code=c.RejectCode.INTERNAL_ERROR, message="internal error"
                )
                self._answer(batch, requester, data, internal, journal=bool(rid))
                rest = Commands(item.entries[index + 1 :], requesters[index + 1 :])
                return Interrupted([rest] if rest.entries else [], rebuild=True)
            batch.acks.append(entry_id)
            self._collect(outcome, batch)
            for reply in outcome.replies:
                self._answer(batch, requester, data, reply, journal=journaled)
        return None

    def _command(self, data: bytes, batch: Batch) -> tuple[Outcome, bool]:
        """The outcome of one command, and whether its reply is journaled."""
        now = batch.now
        out = Outcome()
        try:
            command = c.decode_command(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            # not journaled: the same bytes are rejected the same way again, and the request
            # id stays free for a well-formed retry
            rid = request_id_of(data)
            out.replies.append(
                c.Rejected(request_id=rid, code=c.RejectCode.MALFORMED, message=str(error))
            )
            return out, False
        if not command.request_id:
            # an empty id would be remembered, and answer every later command without one
            out.replies.append(
                c.Rejected(request_id="", code=c.RejectCode.MALFORMED, message="no request_id")
            )
            return out, False
        # a new order, not a retry of one answered before: its answer is counted
        placing = isinstance(command, c.PlaceOrder) and self.core.answer_to(command) is None
        refusal = self.accounts.check(command, now)
        if refusal is not None:
            out.replies.append(refusal)
            self.core.remember(command.request_id, refusal, c.identity(command))
            if placing:
                batch.orders.append(refusal)
            batch.handled.append((command, out.replies))
            return out, True
        outcome = self.core.handle(command, now)
        self.accounts.applied(command, outcome.replies)
        if placing:
            batch.orders += outcome.replies
        batch.handled.append((command, outcome.replies))
        # an expired command or a conflicting reuse of a request id is not that request's
        # answer: journaling it would shadow the answer the request gets when it executes
        return outcome, not any(
            isinstance(r, c.Rejected) and r.code in _NOT_THE_ANSWER for r in outcome.replies
        )

    def _answer(
        self, batch: Batch, requester: bytes, data: bytes, reply: c.Reply, journal: bool
    ) -> None:
        encoded = c.encode(reply)
        batch.replies.append((requester, encoded))
        if journal and reply.request_id:
            batch.processed.append(ProcessedCommand(reply.request_id, data, encoded, batch.now))

    def _collect(self, outcome: Outcome, batch: Batch) -> None:
        """Add an outcome to the batch; a client order sent to an LP is journaled as working
        (the core records it only when the LP answers, but its LP order refers to it)."""
        for record in outcome.journal:
            if isinstance(record, c.ValuationAlert):
                log.log(
                    logging.INFO if record.valued else logging.WARNING,
                    "account %d %s",
                    record.account_id,
                    "can be valued again"
                    if record.valued
                    else f"cannot be valued (no price or rate for {', '.join(record.unpriced)}): "
                    "new exposure blocked, margin call and stop-out cannot be judged",
                )
        updated = {r.order_id for r in outcome.journal if isinstance(r, c.OrderUpdate)}
        for lp_order in outcome.lp_orders:
            if lp_order.purpose is not Purpose.CLIENT or lp_order.order_id in updated:
                continue
            account = self.core.ctx.accounts.get(lp_order.account_id or 0)
            order = account.orders.get(lp_order.order_id or 0) if account else None
            if order is not None:
                outcome.record(order_update(order, batch.now))
        batch.add(outcome)

    def _quote(self, quote: LpQuote, batch: Batch) -> None:
        instrument = self.core.ctx.instruments.get(quote.symbol)
        if instrument is None or quote.lp not in self.reference.lp_ids:
            return  # only LPs the warehouse knows may price (their LP orders are journaled)
        # an LP price finer than the grid rounds against the client
        bid = price_to_points(quote.bid, instrument.digits, ROUND_FLOOR)
        ask = price_to_points(quote.ask, instrument.digits, ROUND_CEILING)
        if bid is None or ask is None:
            return
        self.quoted[quote.lp] = quote.time_ns
        self._collect(self.core.on_quote(quote.lp, quote.symbol, bid, ask, batch.now), batch)
        batch.lp_ticks.append(
            StreamTick(quote.time_ns, quote.symbol, quote.lp, float(quote.bid), float(quote.ask))
        )

    def _session(self, state: LpSessionState, batch: Batch) -> None:
        if state.connected:
            return
        # a logged-off LP's quotes go at once: a non-positive quote withdraws the LP's price
        for symbol in list(self.core.ctx.instruments):
            self._collect(self.core.on_quote(state.lp, symbol, 0, 0, batch.now), batch)

    def _report(self, execution: LpExecution, batch: Batch) -> None:
        report = execution.report
        ctx = self.core.ctx
        cl_ord_id = report.cl_ord_id
        lp_order = ctx.lp_orders.get(cl_ord_id)
        ref = report.lp_order_ref
        if report.status is ReportStatus.ACCEPTED:
            # the LP's acknowledgement only names its OrderID: to any other status the core
            # would end the order
            if lp_order is not None:
                batch.lp_fills.append(LpFill(cl_ord_id, Decimal(0), None, "NEW", ref))
            return
        before = ctx.lp_filled.get(cl_ord_id, 0)
        outcome = self.core.on_lp_report(report, batch.now)
        self._collect(outcome, batch)
        if lp_order is None:
            return  # unknown or already final: the core ignored it
        working = cl_ord_id in ctx.lp_orders
        if not working:
            batch.lp_done.append((cl_ord_id, execution.time_ns))
        after = ctx.lp_filled.get(cl_ord_id, 0) if working else lp_order.units
        if report.status is ReportStatus.FILL:
            if after <= before:
                return  # a malformed or over-filling report the core refused
            status = "PARTIALLY_FILLED" if working else "FILLED"
            filled = Decimal(after - before).scaleb(-4)
            batch.lp_fills.append(LpFill(cl_ord_id, filled, report.last_px, status, ref))
        elif not working:
            status = "REJECTED" if report.status is ReportStatus.REJECTED else "CANCELED"
            batch.lp_fills.append(LpFill(cl_ord_id, Decimal(0), None, status, ref))

    def _timers(self, batch: Batch) -> Interrupted | None:
        """Timers of the core, and the account flags the back office may have changed."""
        now = batch.now
        self._next_timer = now + self.options.timer_interval_ns
        try:
            self._collect(self.core.on_timer(now), batch)
            if now >= self._next_states:
                self._next_states = now + self.options.state_interval_ns
                self._collect(self.core.publish_states(now), batch)
        except Exception:
            log.exception("core failed on its timer")
            return Interrupted([], rebuild=True)
        if now >= self._next_refresh:
            self._next_refresh = now + self.options.refresh_interval_ns
            # what survived until now is mostly the book (accounts, positions, answers): out
            # of the cyclic collector's sight, a full collection scans only what is new, and
            # no longer stops every thread for a tenth of a second
            gc.freeze()
            try:
                self.accounts.refresh()
            except psycopg.Error as error:
                log.warning("refreshing accounts failed (%s)", error)
                self._reconnect()
        return None

    def _reconnect(self) -> None:
        if not (self.conn.closed or self.conn.broken):
            return
        try:
            self.conn = self._connect()
            self.accounts.conn = self.conn
        except psycopg.Error as error:
            log.error("reconnecting to the warehouse failed (%s)", error)
