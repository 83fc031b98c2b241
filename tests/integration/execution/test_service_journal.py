"""A command in gives a reply, rows in the warehouse and events on Redis."""

from __future__ import annotations

import time
from decimal import Decimal

from brokerstack.streams import EVENT_FIELD, LAST_QUOTES_HASH, TICK_BATCH_FIELD, decode_ticks
from execution import contracts as c
from execution.lp import LpOrder
from tests.integration.execution.conftest import Desk, DeskFactory
from tests.integration.execution.support import deposit, place


def test_orders_and_a_deposit_are_journaled_answered_and_published(desk: Desk) -> None:
    account = desk.account
    aid = account.account_id
    subscription = desk.subscribe(f"events:account:{aid}")

    paid = desk.client.request(deposit("dep-1", account, "250.00"))
    opened = desk.client.request(place("buy-1", aid, "buy", "0.10"))
    desk.quote("BTCUSD", "64100.00", "64101.00")
    closed = desk.client.request(place("sell-1", aid, "sell", "0.10"))

    assert isinstance(paid, c.Accepted)
    assert paid.balance == Decimal("10250.00")
    assert isinstance(opened, c.Accepted)
    assert opened.state is c.OrderState.FILLED
    assert isinstance(closed, c.Accepted)
    assert closed.position_id == opened.position_id
    orders = desk.rows(
        "SELECT request_id, side, status, volume FROM orders WHERE trading_account_id = %s "
        "ORDER BY id",
        aid,
    )
    assert orders == [
        ("buy-1", "BUY", "FILLED", Decimal("0.1")),
        ("sell-1", "SELL", "FILLED", Decimal("0.1")),
    ]
    deals = desk.rows(
        "SELECT entry, price, profit, routed FROM deals WHERE trading_account_id = %s ORDER BY id",
        aid,
    )
    # bought at the marked-up ask 64001.01, sold at the bid 64099.99: 98.98 x 0.1 x 1
    assert deals == [
        ("IN", Decimal("64001.01"), Decimal(0), "B"),
        ("OUT", Decimal("64099.99"), Decimal("9.90"), "B"),
    ]
    positions = desk.rows(
        "SELECT status, volume, open_price, close_price, realized_profit FROM positions "
        "WHERE trading_account_id = %s",
        aid,
    )
    assert positions == [
        ("CLOSED", Decimal("0.1"), Decimal("64001.01"), Decimal("64099.99"), Decimal("9.90"))
    ]
    assert desk.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid) == [
        (Decimal("10259.90"),)
    ]
    # the trading account's ledger side mirrors its balance changes (credits are negative)
    ledger = desk.rows(
        "SELECT t.kind, e.amount FROM ledger_entries e "
        "JOIN ledger_transfers t ON t.id = e.transfer_id "
        "JOIN ledger_accounts a ON a.id = e.ledger_account_id "
        "WHERE a.trading_account_id = %s ORDER BY e.id",
        aid,
    )
    assert ledger == [
        ("trading_deposit", Decimal("-250.00")),
        ("trading_result", Decimal("-9.90")),
    ]
    journaled = desk.rows("SELECT request_id, reply FROM command_journal ORDER BY request_id")
    assert [(rid, c.decode_reply(bytes(reply))) for rid, reply in journaled] == [
        ("buy-1", opened),
        ("dep-1", paid),
        ("sell-1", closed),
    ]
    streamed = [c.decode_event(fields[EVENT_FIELD]) for fields in desk.entries("events")]
    kinds = [type(e).__name__ for e in streamed if getattr(e, "account_id", None) == aid]
    assert kinds == [
        "BalanceChange",
        "Deal", "PositionUpdate", "OrderUpdate",
        "Deal", "PositionUpdate", "BalanceChange", "OrderUpdate",
    ]  # fmt: skip
    live: list[str] = []
    while len(live) < len(kinds) and (data := subscription.next()) is not None:
        live.append(type(c.decode_event(data)).__name__)
    assert live == kinds


def test_client_prices_reach_the_channel_the_last_price_hash_and_the_ticks_stream(
    desk: Desk,
) -> None:
    subscription = desk.subscribe("quotes:BTCUSD")

    desk.quote("BTCUSD", "65000.00", "65002.00")

    ours = None
    while ours is None:
        data = subscription.next()
        assert data is not None, "no price for the group on quotes:BTCUSD"
        tick = c.decode_event(data)
        if isinstance(tick, c.Tick) and tick.group == "test-netting":
            ours = tick
    # the group's 2-point markup: one point off the bid, one on the ask
    assert (ours.bid, ours.ask) == (Decimal("64999.99"), Decimal("65002.01"))
    last = desk.hash_field(LAST_QUOTES_HASH, "test-netting:BTCUSD")
    assert last is not None
    assert c.decode_event(last) == ours
    batch = decode_ticks(desk.entries("ticks")[-1][TICK_BATCH_FIELD])
    assert {(t.source, t.bid, t.ask) for t in batch if t.symbol == "BTCUSD"} >= {
        ("lp-alpha", 65000.0, 65002.0),
        ("client:test-netting", 64999.99, 65002.01),
    }


def test_a_replayed_request_is_answered_with_its_first_reply_and_not_executed_again(
    desk: Desk,
) -> None:
    aid = desk.account.account_id
    first = desk.client.request(place("once", aid, "buy", "0.05"))
    desk.client.received.clear()
    again = desk.client.request(place("once", aid, "buy", "0.05"))

    assert again == first
    assert desk.rows("SELECT count(*) FROM orders WHERE request_id = 'once'") == [(1,)]
    assert desk.rows("SELECT count(*) FROM deals WHERE trading_account_id = %s", aid) == [(1,)]


def test_a_client_order_routed_to_an_lp_is_journaled_before_it_is_sent_and_filled_there(
    start_desk: DeskFactory,
) -> None:
    desk = start_desk(policy="professional-a-book")
    aid = desk.account.account_id
    seen_in_warehouse: list[list[tuple[object, ...]]] = []
    lp = desk.service.gateways["lp-alpha"]

    class Witness:
        """Looks for the LP order in the warehouse when the service sends it."""

        def send(self, order: LpOrder) -> None:
            seen_in_warehouse.append(
                desk.rows("SELECT status FROM lp_orders WHERE cl_ord_id = %s", order.cl_ord_id)
            )
            lp.send(order)

    desk.service.committer.gateways = {"lp-alpha": Witness()}

    reply = desk.client.request(place("a-book-1", aid, "buy", "0.10"))

    assert isinstance(reply, c.Accepted)
    assert reply.state is c.OrderState.ROUTED
    sent = desk.lps["lp-alpha"].sent
    assert [o.order_id for o in sent] == [reply.order_id]
    assert seen_in_warehouse == [[("PENDING_NEW",)]]
    deadline = time.monotonic() + 10
    rows: list[tuple[object, ...]] = []
    while time.monotonic() < deadline:
        rows = desk.rows(
            "SELECT d.routed, l.cl_ord_id, l.status, l.cum_qty, o.status FROM deals d "
            "JOIN lp_orders l ON l.id = d.lp_order_id JOIN orders o ON o.id = d.order_id "
            "WHERE d.trading_account_id = %s",
            aid,
        )
        if rows and rows[0][4] == "FILLED":
            break
        time.sleep(0.05)
    assert rows == [("A", sent[0].cl_ord_id, "FILLED", Decimal("0.1"), "FILLED")]
