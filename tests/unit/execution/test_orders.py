"""Pending orders and SL/TP fire on the right side of the quote; modify, cancel, expiry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from execution import contracts as c
from execution.records import Outcome
from execution.testkit import Desk, accepted, of_type, rejected, sample_core

D = Decimal


@pytest.fixture
def desk() -> Desk:
    desk = Desk(sample_core())
    desk.core.add_account(1, "pro-usd", balance=D(10_000))  # markup 1 point per side
    desk.quote("EURUSD", "1.10000", "1.10002")  # client 1.09999 / 1.10003
    return desk


def pending(desk: Desk, side: str, kind: c.OrderType, price: str, **fields: object) -> int:
    reply = accepted(desk.place(1, "EURUSD", side, "1", type=kind, price=D(price), **fields))
    assert reply.state is c.OrderState.PLACED
    return reply.order_id or 0


def filled_orders(outcome: Outcome) -> list[int]:
    return [u.order_id for u in of_type(outcome, c.OrderUpdate) if u.state is c.OrderState.FILLED]


def test_buy_limit_triggers_on_the_ask_not_the_bid(desk: Desk) -> None:
    order = pending(desk, "buy", c.OrderType.LIMIT, "1.09900")
    # client bid reaches 1.09899 but the ask 1.09903 is still above the limit: no fill
    assert filled_orders(desk.quote("EURUSD", "1.09900", "1.09902")) == []
    outcome = desk.quote("EURUSD", "1.09896", "1.09898")  # client ask 1.09899
    assert filled_orders(outcome) == [order]
    deal = of_type(outcome, c.Deal)[0]
    assert (deal.price, deal.reason) == (D("1.09899"), c.DealReason.PENDING)


def test_sell_limit_triggers_on_the_bid(desk: Desk) -> None:
    order = pending(desk, "sell", c.OrderType.LIMIT, "1.10100")
    assert filled_orders(desk.quote("EURUSD", "1.10098", "1.10100")) == []  # ask crossed only
    assert filled_orders(desk.quote("EURUSD", "1.10101", "1.10103")) == [order]  # bid 1.10100


def test_buy_stop_on_the_ask_and_sell_stop_on_the_bid(desk: Desk) -> None:
    buy_stop = pending(desk, "buy", c.OrderType.STOP, "1.10100")
    sell_stop = pending(desk, "sell", c.OrderType.STOP, "1.09900")
    assert filled_orders(desk.quote("EURUSD", "1.10096", "1.10098")) == []  # ask 1.10099
    assert filled_orders(desk.quote("EURUSD", "1.10097", "1.10099")) == [buy_stop]  # ask 1.10100
    assert filled_orders(desk.quote("EURUSD", "1.09902", "1.09904")) == []  # bid 1.09901
    assert filled_orders(desk.quote("EURUSD", "1.09901", "1.09903")) == [sell_stop]


def test_pending_price_on_the_wrong_side_or_far_off_market_is_rejected(desk: Desk) -> None:
    # a buy limit above the ask would fill at once: invalid
    assert (
        rejected(desk.place(1, "EURUSD", "buy", "1", type=c.OrderType.LIMIT, price=D("1.10100")))
        is c.RejectCode.INVALID_PRICE
    )
    # EURUSD allows pending prices up to 50,000 points (0.5) from market
    far = desk.place(1, "EURUSD", "sell", "1", type=c.OrderType.LIMIT, price=D("1.70000"))
    assert rejected(far) is c.RejectCode.INVALID_PRICE
    off_grid = desk.place(1, "EURUSD", "sell", "1", type=c.OrderType.LIMIT, price=D("1.100005"))
    assert rejected(off_grid) is c.RejectCode.INVALID_PRICE
    nan = desk.place(1, "EURUSD", "sell", "1", type=c.OrderType.LIMIT, price=D("NaN"))
    assert rejected(nan) is c.RejectCode.INVALID_PRICE


def test_stops_of_a_buy_fire_on_the_bid(desk: Desk) -> None:
    opened = accepted(desk.place(1, "EURUSD", "buy", "1", sl=D("1.09800"), tp=D("1.10300")))
    # the ask above the take-profit does not close a buy while the bid is below it
    assert of_type(desk.quote("EURUSD", "1.10299", "1.10305"), c.Deal) == []  # bid 1.10298
    assert of_type(desk.quote("EURUSD", "1.09802", "1.09804"), c.Deal) == []  # bid 1.09801
    outcome = desk.quote("EURUSD", "1.09801", "1.09803")  # client bid 1.09800 = SL
    deal = of_type(outcome, c.Deal)[0]
    assert (deal.reason, deal.position_id, deal.price) == (
        c.DealReason.SL,
        opened.position_id,
        D("1.09800"),
    )


def test_stop_loss_of_a_sell_fires_on_the_ask(desk: Desk) -> None:
    accepted(desk.place(1, "EURUSD", "sell", "1", sl=D("1.10200")))
    # client bid 1.10194 far below the stop, client ask 1.10200 reaches it
    deal = of_type(desk.quote("EURUSD", "1.10195", "1.10199"), c.Deal)[0]
    assert (deal.reason, deal.price) == (c.DealReason.SL, D("1.10200"))


def test_take_profit_of_a_sell_fires_on_the_ask(desk: Desk) -> None:
    accepted(desk.place(1, "EURUSD", "sell", "1", tp=D("1.09900")))
    assert of_type(desk.quote("EURUSD", "1.09895", "1.09900"), c.Deal) == []  # ask 1.09901
    deal = of_type(desk.quote("EURUSD", "1.09895", "1.09899"), c.Deal)[0]  # ask 1.09900
    assert (deal.reason, deal.price) == (c.DealReason.TP, D("1.09900"))


def test_stops_on_the_wrong_side_are_rejected(desk: Desk) -> None:
    wrong = desk.place(1, "EURUSD", "buy", "1", sl=D("1.10100"))
    assert rejected(wrong) is c.RejectCode.INVALID_STOPS


def test_modify_and_cancel_a_pending_order(desk: Desk) -> None:
    order = pending(desk, "buy", c.OrderType.LIMIT, "1.09900")
    modify = c.ModifyOrder(request_id="m", account_id=1, order_id=order, price=D("1.09950"))
    update = of_type(desk.send(modify), c.OrderUpdate)[0]
    assert update.price == D("1.09950")
    assert filled_orders(desk.quote("EURUSD", "1.09946", "1.09948")) == [order]  # ask 1.09949
    second = pending(desk, "buy", c.OrderType.LIMIT, "1.09000")
    cancel = desk.send(c.CancelOrder(request_id="c", account_id=1, order_id=second))
    assert of_type(cancel, c.OrderUpdate)[0].state is c.OrderState.CANCELED
    again = desk.send(c.CancelOrder(request_id="c2", account_id=1, order_id=second))
    assert rejected(again) is c.RejectCode.UNKNOWN_ORDER


def test_ioc_limit_fills_when_marketable_else_cancels(desk: Desk) -> None:
    hit = desk.place(
        1, "EURUSD", "buy", "1", type=c.OrderType.LIMIT, price=D("1.10010"), tif=c.TimeInForce.IOC
    )
    assert accepted(hit).state is c.OrderState.FILLED
    assert of_type(hit, c.Deal)[0].price == D("1.10003")  # the market, better than the limit
    miss = desk.place(
        1, "EURUSD", "buy", "1", type=c.OrderType.LIMIT, price=D("1.09000"), tif=c.TimeInForce.FOK
    )
    assert accepted(miss).state is c.OrderState.CANCELED
    assert of_type(miss, c.Deal) == []


def test_day_order_expires_at_the_new_york_cut_and_dated_order_at_its_time(desk: Desk) -> None:
    day = pending(desk, "buy", c.OrderType.LIMIT, "1.09000", tif=c.TimeInForce.DAY)
    dated = pending(
        desk, "buy", c.OrderType.LIMIT, "1.09000", expires_at=desk.now + 3_600_000_000_000
    )
    desk.advance(3_600)
    assert [u.order_id for u in of_type(desk.timer(), c.OrderUpdate)] == [dated]
    desk.at(datetime(2026, 3, 4, 21, 59, tzinfo=UTC))  # 16:59 in New York (EST, UTC-5)
    assert of_type(desk.timer(), c.OrderUpdate) == []
    desk.at(datetime(2026, 3, 4, 22, 0, tzinfo=UTC))
    expired = of_type(desk.timer(), c.OrderUpdate)
    assert [(u.order_id, u.state) for u in expired] == [(day, c.OrderState.EXPIRED)]


def test_pending_order_closing_a_hedging_position_closes_it_when_triggered(desk: Desk) -> None:
    position = accepted(desk.place(1, "EURUSD", "buy", "1")).position_id
    take = desk.place(
        1, "EURUSD", "sell", "1", type=c.OrderType.LIMIT, price=D("1.10100"), position_id=position
    )
    assert accepted(take).state is c.OrderState.PLACED
    deal = of_type(desk.quote("EURUSD", "1.10101", "1.10103"), c.Deal)[0]
    assert (deal.entry, deal.position_id) == (c.DealEntry.OUT, position)
    assert desk.core.ctx.accounts[1].positions == {}


def test_pending_close_of_a_vanished_position_is_cancelled(desk: Desk) -> None:
    position = accepted(desk.place(1, "EURUSD", "buy", "1")).position_id or 0
    desk.place(
        1, "EURUSD", "sell", "1", type=c.OrderType.LIMIT, price=D("1.10100"), position_id=position
    )
    desk.close(1, position)
    update = of_type(desk.quote("EURUSD", "1.10101", "1.10103"), c.OrderUpdate)[0]
    assert (update.state, update.reason) == (c.OrderState.CANCELED, c.RejectCode.UNKNOWN_POSITION)


def test_modifying_a_pending_orders_price_keeps_its_stops_and_expiry(desk: Desk) -> None:
    expiry = desk.now + 7_200_000_000_000
    order = pending(
        desk, "buy", c.OrderType.LIMIT, "1.09900", sl=D("1.09000"), tp=D("1.10500"),
        expires_at=expiry,
    )  # fmt: skip
    moved = of_type(
        desk.send(c.ModifyOrder(request_id="m", account_id=1, order_id=order, price=D("1.09950"))),
        c.OrderUpdate,
    )[0]
    assert (moved.price, moved.sl, moved.tp, moved.expires_at) == (
        D("1.09950"), D("1.09000"), D("1.10500"), expiry,
    )  # fmt: skip
    # an explicit None removes only that level
    no_tp = of_type(
        desk.send(c.ModifyOrder(request_id="m2", account_id=1, order_id=order, tp=None)),
        c.OrderUpdate,
    )[0]
    assert (no_tp.price, no_tp.sl, no_tp.tp, no_tp.expires_at) == (
        D("1.09950"), D("1.09000"), None, expiry,
    )  # fmt: skip


def test_changing_only_a_positions_stop_loss_keeps_its_take_profit(desk: Desk) -> None:
    position = accepted(
        desk.place(1, "EURUSD", "buy", "1", sl=D("1.09000"), tp=D("1.11000"))
    ).position_id
    assert position is not None
    update = of_type(
        desk.send(
            c.ModifyPosition(request_id="p", account_id=1, position_id=position, sl=D("1.09500"))
        ),
        c.PositionUpdate,
    )[0]
    assert (update.sl, update.tp) == (D("1.09500"), D("1.11000"))
    cleared = of_type(
        desk.send(c.ModifyPosition(request_id="p2", account_id=1, position_id=position, sl=None)),
        c.PositionUpdate,
    )[0]
    assert (cleared.sl, cleared.tp) == (None, D("1.11000"))
    # the take profit still fires: the bid reaches 1.11000
    deal = of_type(desk.quote("EURUSD", "1.11001", "1.11003"), c.Deal)[0]
    assert deal.reason is c.DealReason.TP


def test_a_filled_order_names_its_deal(desk: Desk) -> None:
    outcome = desk.place(1, "EURUSD", "buy", "1")
    reply = accepted(outcome)
    assert reply.deal_ids == tuple(d.deal_id for d in of_type(outcome, c.Deal))
    assert len(reply.deal_ids) == 1
    closing = desk.close(1, reply.position_id or 0)
    assert accepted(closing).deal_ids == (of_type(closing, c.Deal)[0].deal_id,)


def test_a_market_order_with_a_price_is_refused(desk: Desk) -> None:
    outcome = desk.place(1, "EURUSD", "buy", "1", price=D("1.10003"))
    assert rejected(outcome) is c.RejectCode.INVALID_PRICE
    assert of_type(outcome, c.Deal) == []


def test_a_command_past_its_deadline_does_nothing_and_its_retry_executes(desk: Desk) -> None:
    late = c.PlaceOrder(
        request_id="r", account_id=1, symbol="EURUSD", side=c.Side.BUY, volume=D(1),
        deadline=desk.now - 1,
    )  # fmt: skip
    outcome = desk.send(late)
    assert rejected(outcome) is c.RejectCode.COMMAND_EXPIRED
    assert outcome.journal == []
    retry = desk.send(msgspec.structs.replace(late, deadline=desk.now + 1_000_000_000))
    assert accepted(retry).state is c.OrderState.FILLED
    # the retry's answer is the request's answer from now on, whatever the deadline says
    again = desk.send(late)
    assert accepted(again) == accepted(retry)
    assert again.journal == []
