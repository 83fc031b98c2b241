"""What a restarted service reloads from the warehouse, not from memory: resting pending
orders, positions' stop loss and take profit, and client orders working at an LP."""

from __future__ import annotations

import time
from decimal import Decimal

import psycopg
import redis

from execution import contracts as c
from execution.inbox import LpExecution, LpQuote
from execution.lp import LpOrder, LpReport, ReportStatus
from execution.service.client import CommandClient
from tests.integration.execution.conftest import Running, launch
from tests.integration.execution.support import create_account, create_group, place, until


class HoldingLp:
    """An LP that takes orders and answers none (until the test does)."""

    def __init__(self) -> None:
        self.orders: list[LpOrder] = []

    def send(self, order: LpOrder) -> None:
        self.orders.append(order)


def _quote(running: Running, bid: str, ask: str) -> None:
    running.lps["lp-alpha"].quote("BTCUSD", Decimal(bid), Decimal(ask))
    running.inbox.put(LpQuote("lp-alpha", "BTCUSD", Decimal(bid), Decimal(ask), time.time_ns()))


def test_pending_orders_stops_and_lp_orders_come_back_from_the_warehouse(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        internal = create_group(conn, code="internal")
        a_book = create_group(conn, code="a-book", policy="professional-a-book")
        trader = create_account(conn, internal, Decimal(10_000))
        routed = create_account(conn, a_book, Decimal(10_000))

    def rows(query: str, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(seeded_db_url) as conn:
            return conn.execute(query, params).fetchall()

    client = CommandClient(redis_client)
    running = launch(seeded_db_url, redis_url)
    try:
        _quote(running, "64000.00", "64001.00")  # client 63999.99 / 64001.01
        opened = client.request(
            place("pos", trader.account_id, "buy", "0.01", sl=Decimal("63000.00"),
                  tp=Decimal("66000.00"))
        )  # fmt: skip
        resting = client.request(
            place("limit", trader.account_id, "buy", "0.01", type=c.OrderType.LIMIT,
                  price=Decimal("63500.00"))
        )  # fmt: skip
        holding = HoldingLp()
        running.service.gateways["lp-alpha"] = holding  # type: ignore[index]
        running.service.gateways["lp-beta"] = holding  # type: ignore[index]
        working = client.request(place("a-book", routed.account_id, "buy", "0.01"))
        assert isinstance(opened, c.Accepted)
        assert isinstance(resting, c.Accepted)
        assert resting.state is c.OrderState.PLACED
        assert isinstance(working, c.Accepted)
        assert working.state is c.OrderState.ROUTED
        until(lambda: len(holding.orders) == 1)
        sent = holding.orders[0]
    finally:
        running.stop()

    running = launch(seeded_db_url, redis_url)  # a new core, built from the warehouse
    try:
        # the LP's fill of the order it held arrives after the restart
        running.inbox.put(
            LpExecution(
                sent.lp,
                LpReport(sent.cl_ord_id, ReportStatus.FILL, Decimal("64002.00"), Decimal("0.01")),
                time.time_ns(),
            )
        )
        until(
            lambda: (
                rows("SELECT price FROM deals WHERE trading_account_id = %s", routed.account_id)
                == [(Decimal("64002.01"),)]
            )  # the LP's price plus the group's markup
        )
        assert rows("SELECT status FROM orders WHERE request_id = 'a-book'") == [("FILLED",)]
        # the limit rests until the client ask reaches 63500.00 ...
        _quote(running, "63600.00", "63601.00")
        _quote(running, "63498.00", "63498.99")  # client ask 63499.00
        until(lambda: rows("SELECT status FROM orders WHERE id = %s", resting.order_id)
               == [("FILLED",)])  # fmt: skip
        # ... and the position's stop loss still fires at the client bid 63000.00 or below
        _quote(running, "63001.00", "63002.00")  # bid 63000.99: not yet
        time.sleep(0.3)
        assert rows(
            "SELECT count(*) FROM deals WHERE trading_account_id = %s AND reason = 'stop_loss'",
            trader.account_id,
        ) == [(0,)]
        _quote(running, "62999.00", "63000.00")  # client bid 62998.99
        until(
            lambda: (
                rows(
                    """SELECT volume, price FROM deals
                   WHERE trading_account_id = %s AND reason = 'stop_loss'""",
                    trader.account_id,
                )
                == [(Decimal("0.02"), Decimal("62998.99"))]
            )  # netting: the limit's fill joined it
        )
    finally:
        running.stop()
