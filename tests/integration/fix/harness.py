"""A minimal service loop for the FIX tests: Core + Inbox + the FIX bridge, journaling what
the service shell will journal (LP orders before they are sent, deals, LP order states) with
plain SQL. It stands in for execution/service until that loop exists; the bridge's own
writes (execution reports, health) go through its real WarehouseJournal."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg

from execution import contracts as c
from execution.core import Core, CoreConfig
from execution.fix.bridge import FixBridge
from execution.groups import AccountGroup
from execution.inbox import Inbox, LpExecution, LpQuote, LpSessionState
from execution.instruments import Instrument
from execution.lp import LpOrder, Purpose, ReportStatus
from execution.records import Outcome
from execution.routing import RouteAction, RoutingRule
from execution.samples import retail_group

D = Decimal
ACCOUNT = 1


def instruments() -> list[Instrument]:
    """Always open (no trading sessions): the tests run on any day of the week."""
    return [
        Instrument("EURUSD", 5, D(100_000), "EUR", "USD", "EUR", symbol_group="fx-major"),
        Instrument("XAUUSD", 2, D(100), "XAU", "USD", "USD", symbol_group="metal-gold"),
    ]


def a_book_core() -> Core:
    group: AccountGroup = retail_group(commissions={})
    core = Core(
        CoreConfig(instruments(), [group], rules=[RoutingRule(RouteAction.A_BOOK, name="all-a")])
    )
    core.add_account(ACCOUNT, group.name, balance=D(100_000))
    return core


_FINAL = {ReportStatus.FILL: "FILLED", ReportStatus.REJECTED: "REJECTED"}


class Trading:
    """Drives the core from the inbox, as the service loop will."""

    def __init__(
        self,
        core: Core,
        inbox: Inbox,
        bridge: FixBridge,
        conn: psycopg.Connection[Any] | None = None,
        db_account: int | None = None,
    ) -> None:
        self.core = core
        self.inbox = inbox
        self.bridge = bridge
        self.conn = conn
        self.db_account = db_account
        self.events: list[c.Event] = []
        self.replies: list[c.Reply] = []
        self.sent: list[LpOrder] = []
        self.connected: dict[str, bool] = {}
        self._request = 0
        self._lp_ids: dict[str, int] = {}
        self._instrument_ids: dict[str, int] = {}
        if conn is not None:
            self._lp_ids = dict(conn.execute("SELECT code, id FROM lps").fetchall())
            self._instrument_ids = dict(conn.execute("SELECT symbol, id FROM instruments"))

    # --- commands -------------------------------------------------------------------------

    def place(self, symbol: str, side: str, lots: str, **fields: Any) -> c.Reply:
        self._request += 1
        command = c.PlaceOrder(
            request_id=f"r{self._request}",
            account_id=ACCOUNT,
            symbol=symbol,
            side=c.Side(side),
            volume=D(lots),
            **fields,
        )
        outcome = self.core.handle(command, time.time_ns())
        self._settle(outcome, None)
        return outcome.replies[0]

    # --- the loop -------------------------------------------------------------------------

    def pump(self, until: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                return False
            for item in self.inbox.take(0.05, 1000):
                self._apply(item)
        return True

    def pump_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self.pump(lambda: time.monotonic() > deadline, seconds + 1)

    def _apply(self, item: object) -> None:
        now = time.time_ns()
        core = self.core
        if isinstance(item, LpQuote):
            instrument = core.ctx.instruments.get(item.symbol)
            if instrument is None:
                return
            bid, ask = instrument.to_points(item.bid), instrument.to_points(item.ask)
            if bid is None or ask is None:
                return
            self._settle(core.on_quote(item.lp, item.symbol, bid, ask, now), None)
        elif isinstance(item, LpExecution):
            self._settle(core.on_lp_report(item.report, now), item)
        elif isinstance(item, LpSessionState):
            self.connected[item.lp] = item.connected
            if not item.connected:  # withdraw the LP's quotes at once
                for symbol in core.ctx.instruments:
                    self._settle(core.on_quote(item.lp, symbol, 0, 0, now), None)

    def _settle(self, outcome: Outcome, execution: LpExecution | None) -> None:
        """Journal, then answer, then send: the shell's order of things."""
        if self.conn is not None:
            self._journal(outcome, execution)
        self.replies.extend(outcome.replies)
        self.events.extend(outcome.events)
        for order in outcome.lp_orders:
            self.sent.append(order)
            self.bridge.send(order)

    # --- journaling (what the service shell writes) ---------------------------------------

    def _journal(self, outcome: Outcome, execution: LpExecution | None) -> None:
        conn = self.conn
        assert conn is not None
        for order in outcome.lp_orders:
            conn.execute(
                """INSERT INTO lp_orders (cl_ord_id, lp_id, instrument_id, purpose, side, type,
                       time_in_force, volume, sent_at)
                   VALUES (%s, %s, %s, %s, %s, 'MARKET', %s, %s, now())""",
                (
                    order.cl_ord_id,
                    self._lp_ids[order.lp],
                    self._instrument_ids[order.symbol],
                    "A_BOOK" if order.purpose is Purpose.CLIENT else "HEDGE",
                    order.side.value.upper(),
                    "FOK" if order.fok else "IOC",
                    order.volume,
                ),
            )
        for record in outcome.journal:
            if isinstance(record, c.Deal) and execution is not None:
                conn.execute(
                    """INSERT INTO deals (executed_at, trading_account_id, instrument_id, side,
                           entry, volume, price, profit, commission, swap, routed, lp_id,
                           lp_order_id, reason)
                       SELECT now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, 'A', o.lp_id, o.id,
                              'client'
                       FROM lp_orders o WHERE o.cl_ord_id = %s""",
                    (
                        self.db_account,
                        self._instrument_ids[record.symbol],
                        record.side.value.upper(),
                        record.entry.value.upper(),
                        record.volume,
                        record.price,
                        record.profit,
                        record.commission,
                        record.swap,
                        execution.report.cl_ord_id,
                    ),
                )
        if execution is not None:
            report = execution.report
            if report.status is ReportStatus.FILL:
                status = "FILLED" if report.leaves_qty == 0 else "PARTIALLY_FILLED"
            else:
                status = _FINAL.get(report.status, "CANCELED")
            conn.execute(
                "UPDATE lp_orders SET status = %s, cum_qty = cum_qty + %s, updated_at = now() "
                "WHERE cl_ord_id = %s",
                (status, report.last_qty, report.cl_ord_id),
            )
        conn.commit()

    # --- what the client saw --------------------------------------------------------------

    def order_updates(self) -> list[c.OrderUpdate]:
        return [e for e in self.events if isinstance(e, c.OrderUpdate)]

    def deals(self) -> list[c.Deal]:
        return [e for e in self.events if isinstance(e, c.Deal)]

    def final_state(self, order_id: int) -> c.OrderUpdate | None:
        finals = {
            c.OrderState.FILLED,
            c.OrderState.CANCELED,
            c.OrderState.REJECTED,
        }
        for update in reversed(self.order_updates()):
            if update.order_id == order_id and update.state in finals:
                return update
        return None
