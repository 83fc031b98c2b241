"""What the service's journal writes to ``lp_orders``: a limit order as LIMIT with its price,
the LP's OrderID from its acknowledgement or any later report, and an acknowledgement that
never moves an order back."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import psycopg

from execution.contracts import Side
from execution.lp import LpOrder, Purpose
from execution.service.batch import Batch, LpFill
from execution.service.journal import Journal
from execution.service.reference import load_reference
from execution.service.shard import Shard

D = Decimal


def _journal(conn: psycopg.Connection[Any]) -> Journal:
    shard = Shard()
    return Journal(load_reference(conn, shard.lp_prefix), shard.consumer, shard.entry_prefix)


def _order(cl_ord_id: str, limit: str | None, fok: bool = False) -> LpOrder:
    return LpOrder(cl_ord_id, "lp-alpha", "EURUSD", Side.SELL, 5_000, Purpose.HEDGE, None, None,
                   fok, time.time_ns(), None if limit is None else D(limit))  # fmt: skip


def _write(journal: Journal, conn: psycopg.Connection[Any], *records: Any) -> None:
    batch = Batch(time.time_ns())
    for record in records:
        (batch.lp_fills if isinstance(record, LpFill) else batch.journal).append(record)
    journal.write(conn, batch)


def _row(conn: psycopg.Connection[Any], cl_ord_id: str) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT type, time_in_force, price, status, cum_qty, avg_px, lp_order_ref "
        "FROM lp_orders WHERE cl_ord_id = %s",
        (cl_ord_id,),
    ).fetchone()


def test_limit_and_market_orders_are_journaled_with_their_type_and_price(
    seeded_db_url: str,
) -> None:
    with psycopg.connect(seeded_db_url, autocommit=True) as conn:
        journal = _journal(conn)
        _write(journal, conn, _order("bs-lim", "1.08455", fok=True), _order("bs-mkt", None))
        assert _row(conn, "bs-lim") == ("LIMIT", "FOK", D("1.08455"), "PENDING_NEW", 0, None, None)
        assert _row(conn, "bs-mkt") == ("MARKET", "IOC", None, "PENDING_NEW", 0, None, None)


def test_the_lps_order_id_is_written_from_its_ack_and_the_ack_never_moves_an_order_back(
    seeded_db_url: str,
) -> None:
    with psycopg.connect(seeded_db_url, autocommit=True) as conn:
        journal = _journal(conn)
        _write(journal, conn, _order("bs-a", None), _order("bs-b", None))

        _write(journal, conn, LpFill("bs-a", D(0), None, "NEW", "LP-77"))
        assert _row(conn, "bs-a") == ("MARKET", "IOC", None, "NEW", 0, None, "LP-77")

        # a fill naming no OrderID keeps the one known; an ack arriving after it changes nothing
        _write(journal, conn, LpFill("bs-a", D("0.5"), D("1.0851"), "FILLED"))
        _write(journal, conn, LpFill("bs-a", D(0), None, "NEW", "LP-77"))
        assert _row(conn, "bs-a") == (
            "MARKET", "IOC", None, "FILLED", D("0.5"), D("1.0851"), "LP-77"
        )  # fmt: skip

        # without an ack: the first report that names the OrderID writes it; in one batch an
        # ack behind a fill does not undo it either
        _write(
            journal, conn,
            LpFill("bs-b", D("0.2"), D("1.0850"), "PARTIALLY_FILLED", "LP-78"),
            LpFill("bs-b", D(0), None, "NEW", "LP-78"),
        )  # fmt: skip
        assert _row(conn, "bs-b") == (
            "MARKET", "IOC", None, "PARTIALLY_FILLED", D("0.2"), D("1.0850"), "LP-78"
        )  # fmt: skip
