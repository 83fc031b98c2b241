"""The journal: a batch's orders, deals, positions, LP orders, balances, ledger transfers and
processed commands written to the warehouse in ONE transaction (group commit).

Each table takes one set-based part per batch (``unnest`` of column arrays), and the parts go
to the server as the data-modifying WITH clauses of a single statement: one round trip and one
transaction however many commands and tables the batch touches. Foreign keys are checked at
the end of the statement, so rows may refer to rows the same batch writes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg

from brokerstack.times import to_datetime
from execution import contracts as c
from execution.lp import LpOrder, Purpose
from execution.records import (
    AccountChange,
    AccountSnapshot,
    CutRates,
    CutStatement,
    LedgerTransfer,
    RolloverMark,
)
from execution.service.batch import Batch
from execution.service.ledger import LedgerAccounts, prepare_postings, transfer_statements
from execution.service.metrics import journaled
from execution.service.reference import Reference

_ORDER_STATUS = {
    c.OrderState.PLACED: "PENDING",
    c.OrderState.ROUTED: "NEW",
    c.OrderState.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    c.OrderState.FILLED: "FILLED",
    c.OrderState.CANCELED: "CANCELED",
    c.OrderState.EXPIRED: "EXPIRED",
    c.OrderState.REJECTED: "REJECTED",
}
_FINAL = {c.OrderState.FILLED, c.OrderState.CANCELED, c.OrderState.EXPIRED, c.OrderState.REJECTED}
_DEAL_REASON = {
    c.DealReason.CLIENT: "client",
    c.DealReason.SL: "stop_loss",
    c.DealReason.TP: "take_profit",
    c.DealReason.STOP_OUT: "stop_out",
    c.DealReason.PENDING: "client",
    c.DealReason.DEALER: "dealer",
}


@dataclass(slots=True)
class _PositionRows:
    """Per position: the last update, and what the batch's deals add to it."""

    update: c.PositionUpdate
    volume: Decimal | None = None  # last non-zero volume seen in the batch
    open_price: Decimal | None = None
    open_value: Decimal | None = None
    close_price: Decimal | None = None
    profit: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    opening_deal: int | None = None


@dataclass(slots=True)
class _Sorted:
    orders: dict[int, c.OrderUpdate] = field(default_factory=dict)
    positions: dict[int, _PositionRows] = field(default_factory=dict)
    deals: list[c.Deal] = field(default_factory=list)
    changes: list[c.BalanceChange] = field(default_factory=list)
    operations: dict[str, LedgerTransfer] = field(default_factory=dict)
    lp_orders: list[LpOrder] = field(default_factory=list)
    rollover: RolloverMark | None = None  # the last one of the batch
    quote_states: list[c.QuoteState] = field(default_factory=list)
    images: list[AccountSnapshot] = field(default_factory=list)
    statements: list[CutStatement] = field(default_factory=list)
    rates: list[CutRates] = field(default_factory=list)
    settings: dict[int, AccountChange] = field(default_factory=dict)  # the last per account


def _sort(batch: Batch) -> _Sorted:
    out = _Sorted()
    deal_prices: dict[int, c.Deal] = {}
    for record in batch.journal:
        if isinstance(record, c.OrderUpdate):
            out.orders[record.order_id] = record
        elif isinstance(record, c.Deal):
            out.deals.append(record)
            deal_prices[record.position_id] = record
        elif isinstance(record, c.PositionUpdate):
            rows = out.positions.get(record.position_id)
            if rows is None:
                rows = out.positions[record.position_id] = _PositionRows(record)
            rows.update = record
            if record.volume:
                rows.volume, rows.open_price = record.volume, record.open_price
                rows.open_value = record.open_value
        elif isinstance(record, c.BalanceChange):
            out.changes.append(record)
        elif isinstance(record, LedgerTransfer):
            out.operations[record.request_id] = record
        elif isinstance(record, LpOrder):
            out.lp_orders.append(record)
        elif isinstance(record, RolloverMark):
            out.rollover = record
        elif isinstance(record, c.QuoteState):
            out.quote_states.append(record)
        elif isinstance(record, AccountSnapshot):
            out.images.append(record)
        elif isinstance(record, CutStatement):
            out.statements.append(record)
        elif isinstance(record, CutRates):
            out.rates.append(record)
        elif isinstance(record, AccountChange):
            out.settings[record.account_id] = record
    for deal in out.deals:
        rows = out.positions.get(deal.position_id)
        if rows is None:
            continue
        rows.profit += deal.profit
        rows.commission += deal.commission
        if rows.opening_deal is None and deal.entry is c.DealEntry.IN:
            rows.opening_deal = deal.deal_id
        rows.close_price = deal_prices[deal.position_id].price
    return out


class _Statements:
    """Named data-modifying statements, sent as the WITH clauses of one statement."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str, Sequence[Any]]] = []

    def add(self, name: str, sql: str, params: Sequence[Any]) -> None:
        self.parts.append((name, sql, params))

    def query(self, final: str) -> tuple[str, list[Any]]:
        clauses = ",\n".join(f"{name} AS ({sql})" for name, sql, _ in self.parts)
        return f"WITH {clauses}\n{final}", [p for _, _, params in self.parts for p in params]


class Journal:
    def __init__(self, reference: Reference, consumer: str, entry_prefix: str) -> None:
        self.reference = reference
        self.consumer = consumer
        self.entry_prefix = entry_prefix
        self.ledger = LedgerAccounts(reference)
        # client order id -> (lp_orders.id, lp id) while the order works at an LP
        self.routed: dict[int, tuple[int, int]] = {}

    def load_routed(self, conn: psycopg.Connection[Any]) -> None:
        self.routed = {
            order_id: (row_id, lp_id)
            for row_id, lp_id, order_id in conn.execute(
                """SELECT DISTINCT ON (order_id) id, lp_id, order_id FROM lp_orders
                   WHERE order_id IS NOT NULL
                     AND status IN ('PENDING_NEW', 'NEW', 'PARTIALLY_FILLED')
                   ORDER BY order_id, id DESC"""
            )
        }

    def write(self, conn: psycopg.Connection[Any], batch: Batch) -> None:
        """Journal the batch atomically: one statement on an autocommit connection is one
        transaction, and it costs one round trip (the loop's other threads keep the
        interpreter busy, so every wait for the server costs more than the server's time)."""
        assert conn.autocommit, "the journal's one statement must be its own transaction"
        started = time.perf_counter()
        rows = _sort(batch)
        postings = prepare_postings(
            conn, self.ledger, rows.changes, rows.operations, self.entry_prefix
        )
        out = _Statements()
        self._positions(out, rows)
        self._orders(out, rows)
        routed = self._lp_orders(out, rows.lp_orders)
        self._lp_fills(out, batch)
        self._deals(out, rows.deals)
        self._accounts(out, rows)
        if postings.keys:
            for part in transfer_statements(postings):
                out.add(*part)
        self._commands(out, batch)
        self._rollover(out, rows.rollover)
        self._quote_states(out, rows.quote_states)
        self._images(out, rows.images)
        self._statements(out, rows.statements, rows.rates)
        if not out.parts:
            return
        query, params = out.query(
            "SELECT id, lp_id, order_id FROM lp_new" if routed else "SELECT NULL, NULL, NULL"
        )
        created = conn.execute(query, params).fetchall()
        journaled(batch, time.perf_counter() - started)
        self.routed.update(
            (order_id, (row_id, lp_id)) for row_id, lp_id, order_id in created if order_id
        )
        for order in rows.orders.values():
            if order.state in _FINAL:
                self.routed.pop(order.order_id, None)

    def _positions(self, out: _Statements, rows: _Sorted) -> None:
        """Upsert positions the batch saw open; close the ones it only saw closing (a closed
        position keeps the volume and open price it closed with)."""
        ids = self.reference.instrument_ids
        upserts: list[tuple[Any, ...]] = []
        closes: list[tuple[Any, ...]] = []
        for position_id, p in rows.positions.items():
            u = p.update
            closed = not u.volume
            status = "CLOSED" if closed else "OPEN"
            closed_at = to_datetime(u.time) if closed else None
            close_price = p.close_price if closed else None
            if p.volume is None:
                closes.append(
                    (position_id, u.sl, u.tp, status, closed_at, close_price, p.profit, u.swap,
                     p.commission)
                )  # fmt: skip
                continue
            upserts.append(
                (position_id, u.account_id, ids[u.symbol], u.side.upper(), p.volume,
                 p.open_price, u.sl, u.tp, status, to_datetime(u.opened_at), closed_at, close_price,
                 p.profit, u.swap, p.commission, p.opening_deal, p.open_value)
            )  # fmt: skip
        if upserts:
            out.add(
                "positions_up",
                """INSERT INTO positions AS p (id, trading_account_id, instrument_id, side,
                       volume, open_price, stop_loss, take_profit, status, opened_at, closed_at,
                       close_price, realized_profit, swap, commission, opening_deal_id,
                       open_value)
                   SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::text[],
                       %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[], %b::text[],
                       %b::timestamptz[], %b::timestamptz[], %s::numeric[], %s::numeric[],
                       %s::numeric[], %s::numeric[], %b::bigint[], %s::numeric[])
                   ON CONFLICT (id) DO UPDATE SET
                       side = excluded.side, volume = excluded.volume,
                       open_price = excluded.open_price, open_value = excluded.open_value,
                       stop_loss = excluded.stop_loss,
                       take_profit = excluded.take_profit, status = excluded.status,
                       closed_at = excluded.closed_at, close_price = excluded.close_price,
                       realized_profit = p.realized_profit + excluded.realized_profit,
                       swap = excluded.swap, commission = p.commission + excluded.commission,
                       opening_deal_id = coalesce(p.opening_deal_id, excluded.opening_deal_id),
                       updated_at = now()""",
                _columns(upserts, 17),
            )
        if closes:
            out.add(
                "positions_closed",
                """UPDATE positions AS p SET stop_loss = u.sl, take_profit = u.tp,
                       status = u.st, closed_at = u.cl, close_price = u.cpx,
                       realized_profit = p.realized_profit + u.pnl, swap = u.swap,
                       commission = p.commission + u.comm, updated_at = now()
                   FROM unnest(%b::bigint[], %s::numeric[], %s::numeric[], %b::text[],
                               %b::timestamptz[], %s::numeric[], %s::numeric[], %s::numeric[],
                               %s::numeric[]) AS u(id, sl, tp, st, cl, cpx, pnl, swap, comm)
                   WHERE p.id = u.id""",
                _columns(closes, 9),
            )

    def _orders(self, out: _Statements, rows: _Sorted) -> None:
        if not rows.orders:
            return
        ids = self.reference.instrument_ids
        values = []
        for o in rows.orders.values():
            rejected = o.state is c.OrderState.REJECTED
            code = (o.reason or "rejected").upper() if rejected else None
            values.append(
                (o.order_id, o.account_id, o.request_id, ids[o.symbol], o.type.upper(),
                 o.side.upper(), o.tif.upper(), _ORDER_STATUS[o.state], o.volume, o.filled,
                 o.price, o.sl, o.tp, None if o.expires_at is None else to_datetime(o.expires_at),
                 o.position_id, code, to_datetime(o.time))
            )  # fmt: skip
        out.add(
            "orders_up",
            """INSERT INTO orders AS o (id, trading_account_id, request_id, instrument_id, type,
                   side, time_in_force, status, volume, filled_volume, price, stop_loss,
                   take_profit, expires_at, position_id, reject_code, created_at, updated_at)
               SELECT id, acc, rid, ins, type, side, tif, st, vol, filled, px, sl, tp, exp, pos,
                      code, t, t
               FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::bigint[], %b::text[],
                           %b::text[], %b::text[], %b::text[], %s::numeric[], %s::numeric[],
                           %s::numeric[], %s::numeric[], %s::numeric[], %b::timestamptz[],
                           %b::bigint[], %b::text[], %b::timestamptz[])
                    AS u(id, acc, rid, ins, type, side, tif, st, vol, filled, px, sl, tp, exp,
                         pos, code, t)
               ON CONFLICT (id) DO UPDATE SET
                   status = excluded.status, filled_volume = excluded.filled_volume,
                   price = excluded.price, stop_loss = excluded.stop_loss,
                   take_profit = excluded.take_profit, expires_at = excluded.expires_at,
                   position_id = excluded.position_id, reject_code = excluded.reject_code,
                   updated_at = excluded.updated_at""",
            _columns(values, 17),
        )

    def _lp_orders(self, out: _Statements, lp_orders: list[LpOrder]) -> bool:
        """Journal LP orders before they are sent; ``lp_new`` returns (row id, LP, order)."""
        if not lp_orders:
            return False
        ids = self.reference.instrument_ids
        lps = self.reference.lp_ids
        values = [
            (lo.cl_ord_id, lps[lo.lp], ids[lo.symbol], lo.order_id,
             "A_BOOK" if lo.purpose is Purpose.CLIENT else "HEDGE", lo.side.upper(),
             "MARKET" if lo.limit_price is None else "LIMIT", "FOK" if lo.fok else "IOC",
             lo.volume, lo.limit_price, to_datetime(lo.time))
            for lo in lp_orders
        ]  # fmt: skip
        out.add(
            "lp_new",
            """INSERT INTO lp_orders (cl_ord_id, lp_id, instrument_id, order_id, purpose, side,
                   type, time_in_force, volume, price, created_at)
               SELECT cl, lp, ins, ord, purpose, side, type, tif, vol, px, t
               FROM unnest(%b::text[], %b::bigint[], %b::bigint[], %b::bigint[], %b::text[],
                           %b::text[], %b::text[], %b::text[], %s::numeric[], %s::numeric[],
                           %b::timestamptz[])
                    AS u(cl, lp, ins, ord, purpose, side, type, tif, vol, px, t)
               RETURNING id, lp_id, order_id""",
            _columns(values, 11),
        )
        return True

    def _lp_fills(self, out: _Statements, batch: Batch) -> None:
        """Each LP order's reports of the batch as one change: filled lots, their value, the
        last status, the LP's OrderID (an UPDATE meets each row once per statement). An
        acknowledgement (NEW) moves only an order the LP had not answered yet."""
        fills: dict[str, tuple[Decimal, Decimal, str, str]] = {}
        for f in batch.lp_fills:
            quantity, value, status, ref = fills.get(f.cl_ord_id, (Decimal(0), Decimal(0), "", ""))
            price = f.price if f.price is not None and f.quantity else Decimal(0)
            if f.status != "NEW" or not status:
                status = f.status
            fills[f.cl_ord_id] = (
                quantity + f.quantity,
                value + price * f.quantity,
                status,
                f.lp_order_ref or ref,
            )
        if not fills:
            return
        out.add(
            "lp_filled",
            """UPDATE lp_orders AS l SET
                   avg_px = CASE WHEN u.qty > 0 THEN
                       (coalesce(l.avg_px, 0) * l.cum_qty + u.val) / (l.cum_qty + u.qty)
                       ELSE l.avg_px END,
                   cum_qty = l.cum_qty + u.qty,
                   status = CASE WHEN u.st = 'NEW' AND l.status <> 'PENDING_NEW' THEN l.status
                                 ELSE u.st END,
                   lp_order_ref = coalesce(nullif(u.ref, ''), l.lp_order_ref),
                   updated_at = now()
               FROM unnest(%b::text[], %s::numeric[], %s::numeric[], %b::text[], %b::text[])
                    AS u(cl, qty, val, st, ref)
               WHERE l.cl_ord_id = u.cl""",
            _columns([(cl, q, v, st, ref) for cl, (q, v, st, ref) in fills.items()], 5),
        )

    def _deals(self, out: _Statements, deals: list[c.Deal]) -> None:
        if not deals:
            return
        ids = self.reference.instrument_ids
        values = []
        for d in deals:
            routed = self.routed.get(d.order_id or 0) if d.book == "a" else None
            reason = "close_by" if d.entry is c.DealEntry.OUT_BY else _DEAL_REASON[d.reason]
            values.append(
                (d.deal_id, to_datetime(d.time), d.account_id, d.order_id, d.position_id,
                 ids[d.symbol], d.side.upper(), d.entry.upper(), d.volume, d.price, d.profit,
                 d.commission,
                 d.swap, "B" if routed is None else "A", None if routed is None else routed[1],
                 None if routed is None else routed[0], reason)
            )  # fmt: skip
        out.add(
            "deals_new",
            """INSERT INTO deals (id, executed_at, trading_account_id, order_id, position_id,
                   instrument_id, side, entry, volume, price, profit, commission, swap, routed,
                   lp_id, lp_order_id, reason)
               SELECT * FROM unnest(%b::bigint[], %b::timestamptz[], %b::bigint[], %b::bigint[],
                           %b::bigint[], %b::bigint[], %b::text[], %b::text[], %s::numeric[],
                           %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
                           %b::text[], %b::bigint[], %b::bigint[], %b::text[])
""",
            _columns(values, 17),
        )

    def _accounts(self, out: _Statements, rows: _Sorted) -> None:
        """Each account's row once (an UPDATE meets a row once per statement): its last
        balance and credit, and its settings when the back office changed them."""
        last = {change.account_id: change for change in rows.changes}
        if not last and not rows.settings:
            return
        groups = self.reference.groups
        values = []
        for account_id in last.keys() | rows.settings.keys():
            money, s = last.get(account_id), rows.settings.get(account_id)
            values.append(
                (account_id, None if money is None else money.balance,
                 None if money is None else money.credit, s is not None,
                 None if s is None else s.enabled, None if s is None else s.leverage,
                 None if s is None else groups[s.group].group_id)
            )  # fmt: skip
        out.add(
            "accounts",
            """UPDATE trading_accounts AS a SET
                   balance = coalesce(u.balance, a.balance), credit = coalesce(u.credit, a.credit),
                   enabled = CASE WHEN u.changed THEN u.enabled ELSE a.enabled END,
                   leverage = CASE WHEN u.changed THEN u.leverage ELSE a.leverage END,
                   account_group_id = CASE WHEN u.changed THEN u.group_id
                                           ELSE a.account_group_id END
               FROM unnest(%b::bigint[], %s::numeric[], %s::numeric[], %b::boolean[],
                           %b::boolean[], %b::integer[], %b::bigint[])
                    AS u(id, balance, credit, changed, enabled, leverage, group_id)
               WHERE a.id = u.id""",
            _columns(values, 7),
        )

    def _commands(self, out: _Statements, batch: Batch) -> None:
        if not batch.processed:
            return
        out.add(
            "commands_new",
            """INSERT INTO command_journal (consumer, request_id, command, reply, applied_at)
               SELECT %s::text, rid, cmd, reply, t
               FROM unnest(%b::text[], %b::bytea[], %b::bytea[], %b::timestamptz[])
                    AS u(rid, cmd, reply, t)
               ON CONFLICT (consumer, request_id) DO NOTHING""",
            (
                self.consumer,
                [p.request_id for p in batch.processed],
                [p.command for p in batch.processed],
                [p.reply for p in batch.processed],
                [to_datetime(p.applied_at) for p in batch.processed],
            ),
        )

    def _rollover(self, out: _Statements, mark: RolloverMark | None) -> None:
        if mark is None:
            return
        out.add(
            "rollover",
            """INSERT INTO execution_state (consumer, last_rollover_at) VALUES (%s, %s)
               ON CONFLICT (consumer) DO UPDATE SET last_rollover_at = excluded.last_rollover_at,
                   updated_at = now()""",
            (self.consumer, to_datetime(mark.at)),
        )

    def _quote_states(self, out: _Statements, states: list[c.QuoteState]) -> None:
        if not states:
            return
        ids = self.reference.instrument_ids
        out.add(
            "quote_states",
            """INSERT INTO symbol_quote_states (instrument_id, changed_at, live, reason)
               SELECT * FROM unnest(%b::bigint[], %b::timestamptz[], %b::boolean[], %b::text[])
               ON CONFLICT DO NOTHING""",
            _columns([(ids[q.symbol], to_datetime(q.time), q.live, q.reason) for q in states], 4),
        )

    def _images(self, out: _Statements, images: list[AccountSnapshot]) -> None:
        if not images:
            return
        out.add(
            "images",
            """INSERT INTO account_snapshots (trading_account_id, taken_at, consumer, image)
               SELECT a, t, %s::text, i FROM unnest(%b::bigint[], %b::timestamptz[], %b::bytea[])
                    AS u(a, t, i)
               ON CONFLICT DO NOTHING""",
            (
                self.consumer,
                [i.account_id for i in images],
                [to_datetime(i.taken_at) for i in images],
                [i.image for i in images],
            ),
        )

    def _statements(
        self, out: _Statements, statements: list[CutStatement], rates: list[CutRates]
    ) -> None:
        """The cut's valuations (a cut journaled twice keeps its first statement)."""
        if statements:
            states = [(s.cut, s.applied_at, s.state) for s in statements]
            out.add(
                "statements",
                """INSERT INTO account_statements (trading_account_id, cut, currency, balance,
                       credit, floating_profit, equity, margin, free_margin, margin_level,
                       valued, applied_at)
                   SELECT * FROM unnest(%b::bigint[], %b::timestamptz[], %b::text[],
                       %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
                       %s::numeric[], %s::numeric[], %s::numeric[], %b::boolean[],
                       %b::timestamptz[])
                   ON CONFLICT DO NOTHING""",
                _columns(
                    [
                        (
                            st.account_id,
                            to_datetime(cut),
                            st.currency,
                            st.balance,
                            st.credit,
                            st.floating_profit,
                            st.equity,
                            st.margin,
                            st.free_margin,
                            st.margin_level,
                            st.valued,
                            to_datetime(applied),
                        )
                        for cut, applied, st in states
                    ],
                    12,
                ),
            )
            ids = self.reference.instrument_ids
            marks = [(s.cut, m) for s in statements for m in s.positions]
            if marks:
                out.add(
                    "position_statements",
                    """INSERT INTO position_statements (position_id, cut, trading_account_id,
                           instrument_id, side, volume, open_price, close_price, profit, swap,
                           book)
                       SELECT * FROM unnest(%b::bigint[], %b::timestamptz[], %b::bigint[],
                           %b::bigint[], %b::text[], %s::numeric[], %s::numeric[],
                           %s::numeric[], %s::numeric[], %s::numeric[], %b::text[])
                       ON CONFLICT DO NOTHING""",
                    _columns(
                        [
                            (
                                m.position_id,
                                to_datetime(cut),
                                m.account_id,
                                ids[m.symbol],
                                m.side.value.upper(),
                                m.volume,
                                m.open_price,
                                m.close_price,
                                m.profit,
                                m.swap,
                                m.book,
                            )
                            for cut, m in marks
                        ],
                        11,
                    ),
                )
        pairs = [(to_datetime(r.cut), ccy, rate) for r in rates for ccy, rate in r.rates]
        if pairs:
            out.add(
                "cut_rates",
                """INSERT INTO cut_rates (cut, currency, usd_rate)
                   SELECT * FROM unnest(%b::timestamptz[], %b::text[], %s::numeric[])
                   ON CONFLICT DO NOTHING""",
                _columns(pairs, 3),
            )


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[Any]:
    """Rows as column arrays, the shape ``unnest`` takes. Decimal columns go as array literals
    (``{1.5,NULL}``): formatting them with ``str`` costs a tenth of psycopg's dumpers."""
    columns = [list(column) for column in zip(*rows, strict=True)] or [[] for _ in range(width)]
    return [_numeric_literal(column) if _is_numeric(column) else column for column in columns]


def _is_numeric(column: list[Any]) -> bool:
    """Whether the column holds Decimals (a column of NULLs only is dumped as it is)."""
    for value in column:
        if value is not None:
            return isinstance(value, Decimal)
    return False


def _numeric_literal(column: list[Decimal | None]) -> str:
    return "{" + ",".join("NULL" if v is None else str(v) for v in column) + "}"
