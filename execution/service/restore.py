"""Rebuild the core from the warehouse: accounts, open positions, resting orders, id
sequences and the replies of recently processed requests (as an `execution.snapshot`), plus
the orders working at an LP and those LP orders, which the snapshot leaves to the shell.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg

from brokerstack.times import to_ns
from execution import contracts as c
from execution.core import Core, CoreConfig
from execution.lp import LpOrder, Purpose
from execution.service.ledger import AccountOwner
from execution.service.reference import Reference, toxicity
from execution.snapshot import AccountRow, OrderRow, PositionRow, Snapshot
from execution.state import Order
from execution.units import decimal_to_int, lots_to_units
from warehouse.reference_data import currency_digits

log = logging.getLogger(__name__)

_LP_OPEN = ("PENDING_NEW", "NEW", "PARTIALLY_FILLED")

# month: the calendar month (UTC) commission tiers count volume in
ACCOUNT_QUERY = """
    WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
    SELECT a.id, a.account_group_id, a.balance, a.credit, a.enabled, c.kyc_level,
           a.min_kyc_level_to_trade, a.toxicity_score, a.client_id,
           (SELECT coalesce(sum(d.volume), 0) FROM deals d
            WHERE d.trading_account_id = a.id AND d.executed_at >= month.start),
           month.start + interval '1 month', a.leverage
    FROM month, trading_accounts a JOIN clients c ON c.id = a.client_id
    WHERE a.closed_at IS NULL AND c.status = 'active'
"""


def _lots(value: Decimal) -> Decimal:
    return value.normalize()


def _price(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.normalize()


@dataclass(slots=True)
class Accounts:
    """Open accounts of known groups, who owns them, and those refused: an account whose
    money is not exact in its currency's minor units would trade on a wrong balance."""

    rows: list[AccountRow] = field(default_factory=list)
    owners: dict[int, AccountOwner] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)  # account id -> why


def accounts(
    conn: psycopg.Connection[Any],
    reference: Reference,
    where: str = "",
    params: tuple[Any, ...] = (),
) -> Accounts:
    """Accounts of active clients, with their own leverage and KYC minimum."""
    found = Accounts()
    rows, owners = found.rows, found.owners
    for row in conn.execute(ACCOUNT_QUERY + where, params):
        aid, group_id, balance, credit, enabled, kyc, minimum, score, client_id = row[:9]
        month_volume, month_end, leverage = row[9:]
        group = reference.group_names.get(group_id)
        if group is None:
            continue
        currency = reference.groups[group].currency
        digits = currency_digits(currency)
        inexact = [
            f"{name} {amount.normalize():f}"
            for name, amount in (("balance", balance), ("credit", credit))
            if decimal_to_int(amount, digits) is None
        ]
        if inexact:
            found.refused[aid] = (
                f"account {aid} refused: {' and '.join(inexact)} not exact in {currency} "
                f"minor units ({digits} decimals); correct it in the warehouse"
            )
            continue
        rows.append(
            AccountRow(aid, group, balance.normalize(), credit.normalize(), enabled, kyc,
                       toxicity(score), month_volume.normalize(), to_ns(month_end), leverage,
                       minimum)
        )  # fmt: skip
        owners[aid] = AccountOwner(client_id, group)
    return found


def build_core(
    conn: psycopg.Connection[Any],
    config: CoreConfig,
    reference: Reference,
    consumer: str,
    entry_prefix: str,
    remembered: int,
) -> tuple[Core, Accounts]:
    """A core holding everything the warehouse says, as it was when the last batch committed,
    and the accounts it holds (refused ones included, with why)."""
    found = accounts(conn, reference)
    for reason in found.refused.values():
        log.error("%s", reason)
    loaded = {row.account_id for row in found.rows}
    snapshot = Snapshot(
        accounts=found.rows,
        positions=_positions(conn, reference, loaded),
        orders=_pending_orders(conn, reference, loaded),
        last_ids=_last_ids(conn, entry_prefix, config.lp_prefix),
        replies=_recent_replies(conn, consumer, remembered),
        last_rollover=_last_rollover(conn, consumer),
        hedged=_hedged(conn, reference),
    )
    core = Core.from_snapshot(config, snapshot)
    _working_at_lps(conn, core, reference)
    return core, found


Remembered = dict[str, tuple[c.Reply, bytes]]


def _answer(command: bytes, reply: bytes) -> tuple[c.Reply, bytes]:
    """A journaled answer and the identity of the command it answered."""
    return c.decode_reply(reply), c.identity(c.decode_command(command))


def remembered_replies(
    conn: psycopg.Connection[Any], consumer: str, request_ids: list[str]
) -> Remembered:
    """Answers already journaled for these request ids (the re-read unacknowledged ones)."""
    return {
        request_id: _answer(bytes(command), bytes(reply))
        for request_id, command, reply in conn.execute(
            """SELECT request_id, command, reply FROM command_journal
               WHERE consumer = %s AND request_id = ANY(%s) AND reply IS NOT NULL""",
            (consumer, request_ids),
        )
    }


def _recent_replies(conn: psycopg.Connection[Any], consumer: str, limit: int) -> Remembered:
    rows = conn.execute(
        """SELECT request_id, command, reply FROM command_journal
           WHERE consumer = %s AND reply IS NOT NULL
           ORDER BY processed_at DESC LIMIT %s""",
        (consumer, limit),
    ).fetchall()
    return {rid: _answer(bytes(command), bytes(reply)) for rid, command, reply in reversed(rows)}


def _positions(
    conn: psycopg.Connection[Any], reference: Reference, loaded: set[int]
) -> list[PositionRow]:
    rows = []
    for row in conn.execute(
        """SELECT p.id, p.trading_account_id, p.instrument_id, p.side, p.volume, p.open_price,
                  p.opened_at, p.stop_loss, p.take_profit, p.swap,
                  coalesce((SELECT d.routed FROM deals d WHERE d.id = p.opening_deal_id
                            LIMIT 1), 'B'), p.open_value
           FROM positions p WHERE p.status = 'OPEN' ORDER BY p.id"""
    ):
        pid, aid, iid, side, volume, open_price, opened_at, sl, tp, swap, routed, value = row
        if aid not in loaded:
            continue
        rows.append(
            PositionRow(
                pid, aid, reference.symbols_by_id[iid], c.Side(side.lower()), _lots(volume),
                open_price.normalize(), to_ns(opened_at), _price(sl), _price(tp),
                swap.normalize(), "a" if routed == "A" else "b", _price(value),
            )
        )  # fmt: skip
    return rows


def _pending_orders(
    conn: psycopg.Connection[Any], reference: Reference, loaded: set[int]
) -> list[OrderRow]:
    rows = []
    for row in conn.execute(
        """SELECT id, trading_account_id, instrument_id, side, type, time_in_force, volume,
                  price, created_at, stop_loss, take_profit, expires_at, request_id
           FROM orders WHERE status = 'PENDING' ORDER BY id"""
    ):
        oid, aid, iid, side, type_, tif, volume, price, created, sl, tp, expires, rid = row
        if aid not in loaded:
            continue
        rows.append(
            OrderRow(
                oid, aid, reference.symbols_by_id[iid], c.Side(side.lower()),
                c.OrderType(type_.lower()), c.TimeInForce(tif.lower()), _lots(volume),
                price.normalize(), to_ns(created), _price(sl), _price(tp),
                None if expires is None else to_ns(expires), rid,
            )
        )  # fmt: skip
    return rows


def _last_ids(conn: psycopg.Connection[Any], entry_prefix: str, lp_prefix: str) -> dict[str, int]:
    """Every id sequence continues after the highest id the warehouse holds."""
    row = conn.execute(
        """SELECT (SELECT coalesce(max(id), 0) FROM orders),
                  (SELECT coalesce(max(id), 0) FROM deals),
                  (SELECT coalesce(max(id), 0) FROM positions),
                  (SELECT coalesce(max(substr(idempotency_key, length(%(entry)s) + 1)::bigint), 0)
                   FROM ledger_transfers WHERE starts_with(idempotency_key, %(entry)s)),
                  (SELECT coalesce(max(substr(cl_ord_id, length(%(lp)s) + 1)::bigint), 0)
                   FROM lp_orders WHERE starts_with(cl_ord_id, %(lp)s))""",
        {"entry": entry_prefix, "lp": lp_prefix + "-"},
    ).fetchone()
    assert row is not None
    return dict(zip(("order", "deal", "position", "entry", "lp_order"), map(int, row), strict=True))


def _last_rollover(conn: psycopg.Connection[Any], consumer: str) -> int | None:
    row = conn.execute(
        "SELECT last_rollover_at FROM execution_state WHERE consumer = %s", (consumer,)
    ).fetchone()
    return None if row is None else to_ns(row[0])


def _hedged(conn: psycopg.Connection[Any], reference: Reference) -> dict[str, Decimal]:
    """The broker's LP position per symbol: every LP fill, signed."""
    return {
        reference.symbols_by_id[iid]: lots.normalize()
        for iid, lots in conn.execute(
            """SELECT instrument_id,
                      sum(CASE WHEN side = 'BUY' THEN cum_qty ELSE -cum_qty END)
               FROM lp_orders GROUP BY instrument_id"""
        )
        if lots
    }


def _working_at_lps(conn: psycopg.Connection[Any], core: Core, reference: Reference) -> None:
    """Client orders routed to an LP and LP orders still open, so their reports apply."""
    ctx = core.ctx
    lps = {v: k for k, v in reference.lp_ids.items()}
    for row in conn.execute(
        """SELECT l.cl_ord_id, l.lp_id, l.instrument_id, l.side, l.volume, l.purpose,
                  l.time_in_force, l.cum_qty, l.created_at, o.id, o.trading_account_id,
                  o.type, o.side, o.time_in_force, o.volume, o.filled_volume, o.price,
                  o.stop_loss, o.take_profit, o.position_id, o.request_id, o.created_at,
                  CASE WHEN l.type = 'LIMIT' THEN l.price END
           FROM lp_orders l LEFT JOIN orders o ON o.id = l.order_id
           WHERE l.status IN ('PENDING_NEW', 'NEW', 'PARTIALLY_FILLED') ORDER BY l.id"""
    ):
        cl_ord_id, lp_id, iid, side, volume, purpose, tif, cum_qty, created = row[:9]
        order_id, account_id = row[9:11]
        limit_price = row[22]
        symbol = reference.symbols_by_id[iid]
        units = lots_to_units(_lots(volume)) or 0
        filled = lots_to_units(_lots(cum_qty)) or 0
        buy = side == "BUY"
        lp_order = LpOrder(
            cl_ord_id=cl_ord_id,
            lp=lps[lp_id],
            symbol=symbol,
            side=c.Side.BUY if buy else c.Side.SELL,
            units=units,
            purpose=Purpose.HEDGE if purpose == "HEDGE" else Purpose.CLIENT,
            account_id=account_id,
            order_id=order_id,
            fok=tif == "FOK",
            time=to_ns(created),
            limit_price=None if limit_price is None else limit_price.normalize(),
        )
        account = ctx.accounts.get(account_id or 0)
        if lp_order.purpose is Purpose.CLIENT:
            if account is None or order_id is None:
                continue
            account.orders[order_id] = _routed_order(core, order_id, account.id, symbol, row[11:22])
        ctx.lp_orders[cl_ord_id] = lp_order
        if filled:
            ctx.lp_filled[cl_ord_id] = filled
        if lp_order.purpose is Purpose.HEDGE:
            rest = units - filled
            ctx.hedging_in_flight[symbol] = ctx.hedging_in_flight.get(symbol, 0) + (
                rest if buy else -rest
            )


def _routed_order(
    core: Core, order_id: int, account_id: int, symbol: str, row: tuple[Any, ...]
) -> Order:
    type_, side, tif, volume, filled, price, sl, tp, position_id, request_id, created = row
    instrument = core.ctx.instruments[symbol]
    order = Order(
        order_id,
        account_id,
        instrument,
        c.Side(side.lower()),
        c.OrderType(type_.lower()),
        c.TimeInForce(tif.lower()),
        lots_to_units(_lots(volume)) or 0,
        to_ns(created),
        request_id,
    )
    order.filled = lots_to_units(_lots(filled)) or 0
    order.price = None if price is None else instrument.to_points(price.normalize())
    order.sl = None if sl is None else instrument.to_points(sl.normalize())
    order.tp = None if tp is None else instrument.to_points(tp.normalize())
    order.position_id = position_id
    order.state = c.OrderState.PARTIALLY_FILLED if order.filled else c.OrderState.ROUTED
    order.book = "a"
    return order
