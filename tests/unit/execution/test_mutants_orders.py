"""Order commands answered field by field: which request a refusal answers and why, the levels
and prices an accepted order keeps, and which position a closing order closes (tests written
against the mutants mutmut left alive in execution/orders.py, see docs/testing.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from execution import contracts as c
from execution import image
from execution.groups import Accounting
from execution.instruments import CalcMode, Instrument
from execution.records import Outcome
from execution.routing import RouteAction, RoutingRule
from execution.samples import instruments, retail_group
from execution.testkit import START, Desk, accepted, of_type, reply, sample_core

D = Decimal
SATURDAY = datetime(2026, 3, 7, 12, tzinfo=UTC)  # the FX market is closed


def groups(**pro: object) -> list[object]:
    return [
        retail_group(),
        retail_group("pro-usd", leverage=100, negative_balance_protection=False, **pro),
        retail_group("net", accounting=Accounting.NETTING, **pro),
    ]


def make_desk(**pro: object) -> Desk:
    """Account 1 hedging (pro-usd), 2 disabled, 3 netting; client EURUSD 1.09999 / 1.10003
    (1 point markup each side), USDJPY 149.999 / 150.011."""
    desk = Desk(sample_core(groups=groups(**pro)))
    desk.core.add_account(1, "pro-usd", balance=D(10_000))
    desk.core.add_account(2, "pro-usd", balance=D(10_000), enabled=False)
    desk.core.add_account(3, "net", balance=D(10_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("USDJPY", "150.000", "150.010")
    return desk


@pytest.fixture
def desk() -> Desk:
    return make_desk()


def place(
    desk: Desk, rid: str, side: str, lots: str = "1", account: int = 1, **fields: Any
) -> Outcome:
    fields.setdefault("symbol", "EURUSD")
    return desk.send(
        c.PlaceOrder(
            request_id=rid, account_id=account, side=c.Side(side), volume=D(lots),
            **fields,
        )
    )  # fmt: skip


def refused(outcome: Outcome, rid: str, code: c.RejectCode) -> c.Rejected:
    """A refusal of request `rid` for `code` that changed nothing."""
    answer = reply(outcome)
    assert isinstance(answer, c.Rejected), answer
    assert (answer.request_id, answer.code) == (rid, code)
    assert of_type(outcome, c.Deal) == []
    assert of_type(outcome, c.OrderUpdate) == []
    assert of_type(outcome, c.PositionUpdate) == []
    return answer


def update(outcome: Outcome) -> c.OrderUpdate:
    updates = of_type(outcome, c.OrderUpdate)
    assert len(updates) == 1, updates
    return updates[0]


def position_of(outcome: Outcome) -> int:
    position = accepted(outcome).position_id
    assert position is not None
    return position


def pending(desk: Desk, rid: str, side: str, kind: str, price: str, **fields: Any) -> int:
    answer = accepted(place(desk, rid, side, type=c.OrderType(kind), price=D(price), **fields))
    assert answer.state is c.OrderState.PLACED
    assert answer.order_id is not None
    return answer.order_id


# --- place: each refusal names its request and its reason ---------------------------------

LIMIT, STOP, IOC = c.OrderType.LIMIT, c.OrderType.STOP, c.TimeInForce.IOC


@pytest.mark.parametrize(
    ("side", "fields", "code"),
    [
        # an invalid price is the price's fault even when the stops are bad too
        ("buy", {"type": LIMIT, "price": D("1.099005"), "sl": D("NaN")}, "invalid_price"),
        ("buy", {"sl": D("NaN"), "tp": D("1.10100")}, "invalid_stops"),
        ("buy", {"sl": D("1.09900"), "tp": D("1.100005")}, "invalid_stops"),
        ("buy", {"sl": D(0)}, "invalid_stops"),  # a price of 0 is no price
        ("buy", {"tp": D(-1)}, "invalid_stops"),
        # a buy fills at the ask 1.10003: its take profit must be above that, not the bid
        ("buy", {"tp": D("1.10001")}, "invalid_stops"),
        # a sell fills at the bid 1.09999: its take profit must be below that
        ("sell", {"tp": D("1.10001")}, "invalid_stops"),
        ("sell", {"sl": D("1.09998")}, "invalid_stops"),
        # a pending order's stops are checked against its own price, not the market's
        ("buy", {"type": LIMIT, "price": D("1.09900"), "sl": D("1.09950")}, "invalid_stops"),
        ("buy", {"type": LIMIT, "price": D("1.09900"), "tp": D("1.09850")}, "invalid_stops"),
        ("sell", {"type": STOP, "price": D("1.09900"), "tp": D("1.09950")}, "invalid_stops"),
        # a marketable IOC limit fills at the ask 1.10003: stops against that
        ("buy", {"type": LIMIT, "price": D("1.10010"), "tif": IOC, "tp": D("1.10002")},
         "invalid_stops"),
        ("buy", {"type": LIMIT, "price": D("1.10010"), "tif": IOC, "sl": D("1.10004")},
         "invalid_stops"),
        ("sell", {"type": LIMIT, "price": D("1.09990"), "tif": IOC, "sl": D("1.09998")},
         "invalid_stops"),
    ],
)  # fmt: skip
def test_a_refused_order_names_its_request_and_reason(
    desk: Desk, side: str, fields: dict[str, Any], code: str
) -> None:
    refused(place(desk, "p1", side, **fields), "p1", c.RejectCode(code))


@pytest.mark.parametrize(
    ("fields", "code", "says"),
    [
        ({"symbol": "EURUSDX"}, "unknown_symbol", "EURUSDX"),
        ({"lots": "0.00001"}, "invalid_volume", "0.00001"),
        ({"price": D("1.10003")}, "invalid_price", "market"),  # a market order takes no price
        ({"type": LIMIT}, "invalid_price", "price"),  # a pending order needs one
        ({"position_id": 1, "account": 3}, "hedging_only", "netting"),
    ],
)
def test_a_refusal_explains_itself(
    desk: Desk, fields: dict[str, Any], code: str, says: str
) -> None:
    terms = dict(fields)  # the parameter itself is shared by reruns
    lots = str(terms.pop("lots", "1"))
    answer = refused(place(desk, "p1", "buy", lots, **terms), "p1", c.RejectCode(code))
    assert says in answer.message


def test_an_order_expiring_now_or_from_a_disabled_account_is_refused(desk: Desk) -> None:
    now = desk.now
    limit: dict[str, Any] = {"type": LIMIT, "price": D("1.09900")}
    refused(place(desk, "e", "buy", expires_at=now, **limit), "e", c.RejectCode.INVALID_EXPIRATION)
    accepted(place(desk, "e2", "buy", expires_at=now + 1, **limit))
    refused(place(desk, "d", "buy", account=2), "d", c.RejectCode.ACCOUNT_DISABLED)


def test_a_stop_loss_one_point_above_zero_is_a_valid_level(desk: Desk) -> None:
    outcome = place(desk, "p1", "buy", sl=D("0.00001"))
    assert of_type(outcome, c.PositionUpdate)[-1].sl == D("0.00001")


def test_a_placed_pending_order_is_recorded_with_its_terms(desk: Desk) -> None:
    expiry = desk.now + 3_600_000_000_000
    outcome = place(
        desk, "p1", "buy", "2", type=LIMIT, price=D("1.09900"), sl=D("1.09000"),
        tp=D("1.10500"), expires_at=expiry,
    )  # fmt: skip
    answer = accepted(outcome)
    assert (answer.request_id, answer.state) == ("p1", c.OrderState.PLACED)
    recorded = update(outcome)
    assert recorded in outcome.journal
    assert (recorded.order_id, recorded.request_id, recorded.time) == (
        answer.order_id, "p1", desk.now,
    )  # fmt: skip
    assert (recorded.type, recorded.tif, recorded.volume, recorded.price) == (
        LIMIT, c.TimeInForce.GTC, D(2), D("1.09900"),
    )  # fmt: skip
    assert (recorded.sl, recorded.tp, recorded.expires_at) == (D("1.09000"), D("1.10500"), expiry)
    # the order's placing time survives a restart
    snapshot = image.take(desk.core.ctx.accounts[1], desk.now, desk.now)
    assert [o.created_at for o in snapshot.orders] == [desk.now]


def test_a_filled_market_order_is_recorded_and_answered(desk: Desk) -> None:
    outcome = place(desk, "p1", "buy")
    answer = accepted(outcome)
    assert (answer.request_id, answer.state) == ("p1", c.OrderState.FILLED)
    recorded = update(outcome)
    assert recorded in outcome.journal
    assert (recorded.order_id, recorded.state, recorded.time) == (
        answer.order_id, c.OrderState.FILLED, desk.now,
    )  # fmt: skip
    assert recorded.tif is c.TimeInForce.GTC


# --- an order that closes a hedging position ----------------------------------------------


def test_a_market_order_naming_a_position_closes_part_of_it(desk: Desk) -> None:
    position = position_of(place(desk, "open", "buy"))
    outcome = place(desk, "p1", "sell", "0.4", position_id=position)
    deal = of_type(outcome, c.Deal)[0]
    assert (deal.entry, deal.position_id, deal.price) == (c.DealEntry.OUT, position, D("1.09999"))
    # 1 lot - 0.4 = 0.6 lot = 6,000 volume units left, and no new sell position
    assert {p.id: p.units for p in desk.core.ctx.accounts[1].positions.values()} == {
        position: 6_000
    }


def test_an_order_naming_a_position_it_cannot_close_is_refused(desk: Desk) -> None:
    position = position_of(place(desk, "open", "buy"))
    jpy = position_of(place(desk, "jpy", "buy", symbol="USDJPY"))
    refused(place(desk, "same", "buy", position_id=position), "same", c.RejectCode.UNKNOWN_POSITION)
    # a sell of EURUSD cannot close a USDJPY buy
    refused(place(desk, "other", "sell", position_id=jpy), "other", c.RejectCode.UNKNOWN_POSITION)
    refused(place(desk, "gone", "sell", position_id=99), "gone", c.RejectCode.UNKNOWN_POSITION)
    larger = refused(
        place(desk, "more", "sell", "1.5", position_id=position),
        "more",
        c.RejectCode.INVALID_VOLUME,
    )
    assert "position" in larger.message


# --- IOC / FOK limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "limit", "price"),
    [
        ("sell", "1.09990", "1.09999"),  # a sell limit below the bid fills at the bid
        ("buy", "1.10003", "1.10003"),  # a limit at exactly the ask is marketable
        ("sell", "1.09999", "1.09999"),  # and one at exactly the bid
    ],
)
def test_a_marketable_ioc_limit_fills_at_the_market(
    desk: Desk, side: str, limit: str, price: str
) -> None:
    outcome = place(desk, "p1", side, type=LIMIT, price=D(limit), tif=IOC)
    assert accepted(outcome).state is c.OrderState.FILLED
    assert of_type(outcome, c.Deal)[0].price == D(price)


def test_an_ioc_limit_keeps_its_valid_stops(desk: Desk) -> None:
    outcome = place(
        desk, "p1", "buy", type=LIMIT, price=D("1.10010"), tif=IOC, sl=D("1.09900"),
        tp=D("1.10100"),
    )  # fmt: skip
    position = of_type(outcome, c.PositionUpdate)[-1]
    assert (position.sl, position.tp) == (D("1.09900"), D("1.10100"))
    sold = place(desk, "p2", "sell", type=LIMIT, price=D("1.09990"), tif=IOC, sl=D("1.10100"))
    assert of_type(sold, c.PositionUpdate)[-1].sl == D("1.10100")


def test_an_ioc_limit_naming_a_position_closes_it(desk: Desk) -> None:
    position = position_of(place(desk, "open", "buy"))
    outcome = place(
        desk, "p1", "sell", "0.4", type=LIMIT, price=D("1.09990"), tif=IOC, position_id=position
    )
    deal = of_type(outcome, c.Deal)[0]
    assert (deal.entry, deal.position_id) == (c.DealEntry.OUT, position)
    assert [p.units for p in desk.core.ctx.accounts[1].positions.values()] == [6_000]


def test_an_ioc_limit_that_misses_is_cancelled_and_recorded(desk: Desk) -> None:
    outcome = place(desk, "p1", "buy", type=LIMIT, price=D("1.09000"), tif=IOC)
    answer = accepted(outcome)
    recorded = update(outcome)
    assert recorded in outcome.journal
    assert (answer.request_id, answer.order_id, answer.state) == (
        "p1", recorded.order_id, c.OrderState.CANCELED,
    )  # fmt: skip
    assert answer.order_id is not None
    assert (recorded.state, recorded.time) == (c.OrderState.CANCELED, desk.now)


# --- position limits count positions opened, not closed -----------------------------------


def test_closing_at_the_position_limit_is_allowed() -> None:
    desk = make_desk(max_positions=1)
    position = position_of(place(desk, "open", "buy"))
    refused(place(desk, "second", "buy"), "second", c.RejectCode.LIMIT_POSITIONS)
    assert of_type(desk.close(1, position, "0.5"), c.Deal)[0].entry is c.DealEntry.OUT
    closing = place(desk, "p1", "sell", "0.2", position_id=position)
    assert of_type(closing, c.Deal)[0].entry is c.DealEntry.OUT
    # a pending order that closes the position fills at the limit as well
    pending(desk, "p2", "sell", "limit", "1.10100", position_id=position, lots="0.1")


def test_a_pending_close_at_the_position_limit_fills_when_triggered() -> None:
    desk = make_desk(max_positions=1)
    position = position_of(place(desk, "open", "buy"))
    pending(desk, "take", "sell", "limit", "1.10100", position_id=position)
    outcome = desk.quote("EURUSD", "1.10101", "1.10103")  # client bid 1.10100
    deals = of_type(outcome, c.Deal)
    assert [(d.entry, d.position_id, d.price) for d in deals] == [
        (c.DealEntry.OUT, position, D("1.10100"))
    ]


def test_a_pending_order_opening_past_the_position_limit_is_cancelled() -> None:
    desk = make_desk(max_positions=1)
    position = position_of(place(desk, "open", "buy"))
    order = pending(desk, "new", "buy", "stop", "1.10100")
    outcome = desk.quote("EURUSD", "1.10097", "1.10099")  # client ask 1.10100
    assert (update(outcome).order_id, update(outcome).reason) == (
        order, c.RejectCode.LIMIT_POSITIONS,
    )  # fmt: skip
    assert update(outcome).state is c.OrderState.CANCELED
    assert of_type(outcome, c.Deal) == []
    assert list(desk.core.ctx.accounts[1].positions) == [position]


def test_a_netting_account_at_its_limit_may_add_to_its_position_but_not_open_another() -> None:
    desk = make_desk(max_positions=1)
    place(desk, "open", "buy", account=3)
    added = place(desk, "add", "buy", account=3)
    assert of_type(added, c.Deal)[0].entry is c.DealEntry.IN
    refused(
        place(desk, "jpy", "buy", account=3, symbol="USDJPY"), "jpy", c.RejectCode.LIMIT_POSITIONS
    )


# --- routing by margin level sees the account's valuation ---------------------------------


def routed_desk() -> Desk:
    # accounts with margin in use (a margin level) are refused; an empty account is not
    rule = RoutingRule(RouteAction.REJECT, min_margin_level=D(0), name="loaded")
    desk = Desk(sample_core(groups=groups(), rules=[rule]))
    desk.core.add_account(1, "pro-usd", balance=D(10_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def test_a_routing_rule_on_margin_level_applies_to_market_and_triggered_orders() -> None:
    desk = routed_desk()
    accepted(place(desk, "first", "buy"))
    refused(place(desk, "second", "buy"), "second", c.RejectCode.ROUTING_REJECTED)
    order = pending(desk, "p", "buy", "stop", "1.10100")
    fired = update(desk.quote("EURUSD", "1.10097", "1.10099"))  # ask 1.10100
    assert (fired.order_id, fired.state, fired.reason) == (
        order, c.OrderState.CANCELED, c.RejectCode.ROUTING_REJECTED,
    )  # fmt: skip


# --- triggered pending orders -------------------------------------------------------------


def test_a_pending_order_triggered_while_the_market_is_closed_is_cancelled(desk: Desk) -> None:
    order = pending(desk, "p", "buy", "limit", "1.09900")
    desk.at(SATURDAY)
    outcome = desk.quote("EURUSD", "1.09800", "1.09802")
    fired = update(outcome)
    assert (fired.order_id, fired.state, fired.reason, fired.time) == (
        order, c.OrderState.CANCELED, c.RejectCode.MARKET_CLOSED, desk.now,
    )  # fmt: skip
    assert of_type(outcome, c.Deal) == []


def test_a_triggered_order_is_recorded_at_the_time_it_fills(desk: Desk) -> None:
    far = pending(desk, "far", "buy", "limit", "1.09000")
    near = pending(desk, "near", "buy", "limit", "1.09900")
    desk.advance(60)
    outcome = desk.quote("EURUSD", "1.09896", "1.09898")  # ask 1.09899: only the near one
    fired = update(outcome)
    assert (fired.order_id, fired.state, fired.time) == (near, c.OrderState.FILLED, desk.now)
    assert far in desk.core.ctx.accounts[1].orders


def test_a_sell_stop_loss_waits_while_the_ask_is_below_it(desk: Desk) -> None:
    accepted(place(desk, "p", "sell", sl=D("1.10200")))
    assert of_type(desk.quote("EURUSD", "1.10150", "1.10152"), c.Deal) == []  # ask 1.10153
    deal = of_type(desk.quote("EURUSD", "1.10195", "1.10199"), c.Deal)[0]  # ask 1.10200
    assert deal.reason is c.DealReason.SL


def test_expiry_is_recorded_at_the_time_it_happens(desk: Desk) -> None:
    order = pending(desk, "p", "buy", "limit", "1.09900", expires_at=desk.now + 1_000_000_000)
    desk.advance(2)
    expired = update(desk.timer())
    assert (expired.order_id, expired.state, expired.time) == (
        order, c.OrderState.EXPIRED, desk.now,
    )  # fmt: skip


# --- modify and cancel a pending order ----------------------------------------------------


def modify(desk: Desk, order: int, rid: str = "m", **fields: Any) -> Outcome:
    return desk.send(c.ModifyOrder(request_id=rid, account_id=1, order_id=order, **fields))


def test_modifying_a_pending_orders_stops_and_expiry(desk: Desk) -> None:
    order = pending(desk, "p", "buy", "limit", "1.09900")
    later = desk.now + 7_200_000_000_000
    desk.advance(1)
    outcome = modify(desk, order, sl=D("1.09000"), tp=D("1.10500"), expires_at=later)
    answer = accepted(outcome)
    assert (answer.request_id, answer.order_id, answer.state) == ("m", order, c.OrderState.PLACED)
    moved = update(outcome)
    assert moved in outcome.journal
    assert (moved.price, moved.sl, moved.tp, moved.expires_at, moved.time) == (
        D("1.09900"), D("1.09000"), D("1.10500"), later, desk.now,
    )  # fmt: skip
    forever = update(modify(desk, order, "m2", expires_at=None))
    assert (forever.expires_at, forever.sl) == (None, D("1.09000"))


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"price": D("NaN")}, "invalid_price"),
        ({"price": None}, "invalid_price"),  # a pending order keeps a price
        ({"price": D("150.020")}, "invalid_price"),  # above the ask 150.011: not a buy limit
        ({"sl": D("NaN")}, "invalid_stops"),
        ({"tp": D("149.5005")}, "invalid_stops"),
        ({"sl": D("149.600")}, "invalid_stops"),  # above the limit price 149.500
        ({"tp": D("149.400")}, "invalid_stops"),  # below it
        ({"expires_at": START - 1}, "invalid_expiration"),
        ({"expires_at": START}, "invalid_expiration"),  # expiring now
        # a bad level is the first thing wrong, before the expiry
        ({"sl": D("NaN"), "expires_at": START}, "invalid_stops"),
        ({"tp": D("NaN"), "expires_at": START}, "invalid_stops"),
    ],
)
def test_a_refused_modification_names_its_request_and_reason(
    desk: Desk, fields: dict[str, Any], code: str
) -> None:
    # USDJPY has no maximum pending distance: a bad price is caught as bad, not as far
    order = pending(desk, "p", "buy", "limit", "149.500", symbol="USDJPY")
    refused(modify(desk, order, "m", **fields), "m", c.RejectCode(code))
    assert desk.core.ctx.accounts[1].orders[order].price == 149_500


def test_a_day_order_keeps_its_cut_but_may_change_its_price(desk: Desk) -> None:
    order = pending(desk, "p", "buy", "limit", "1.09900", tif=c.TimeInForce.DAY)
    answer = refused(
        modify(desk, order, expires_at=desk.now + 10**12), "m", c.RejectCode.INVALID_EXPIRATION
    )
    assert "day" in answer.message
    assert update(modify(desk, order, "m2", price=D("1.09950"))).price == D("1.09950")


def test_modifying_an_unknown_order_is_refused(desk: Desk) -> None:
    refused(modify(desk, 99, price=D("1.09900")), "m", c.RejectCode.UNKNOWN_ORDER)


def restored(desk: Desk) -> Desk:
    """A new core that loaded account 1 from its image and has had no quote since."""
    again = Desk(sample_core(groups=groups()), now=desk.now)
    image.install(again.core.ctx, image.take(desk.core.ctx.accounts[1], desk.now, desk.now))
    return again


def test_modifying_before_the_first_quote_after_a_restart_is_refused(desk: Desk) -> None:
    order = pending(desk, "p", "buy", "limit", "1.09900")
    position = position_of(place(desk, "open", "buy"))
    again = restored(desk)
    refused(modify(again, order, price=D("1.09950")), "m", c.RejectCode.OFF_QUOTES)
    refused(modify_position(again, position, sl=D("1.09000")), "s", c.RejectCode.OFF_QUOTES)
    # a level that is no price is refused as such, quote or not
    refused(modify_position(again, position, "s2", sl=D("NaN")), "s2", c.RejectCode.INVALID_STOPS)
    refused(modify_position(again, position, "s3", tp=D(-1)), "s3", c.RejectCode.INVALID_STOPS)


def test_cancelling_answers_and_records_the_cancellation(desk: Desk) -> None:
    order = pending(desk, "p", "buy", "limit", "1.09900")
    desk.advance(1)
    outcome = desk.send(c.CancelOrder(request_id="c", account_id=1, order_id=order))
    answer = accepted(outcome)
    assert (answer.request_id, answer.order_id, answer.state) == (
        "c", order, c.OrderState.CANCELED,
    )  # fmt: skip
    recorded = update(outcome)
    assert (recorded.state, recorded.time) == (c.OrderState.CANCELED, desk.now)
    assert recorded in outcome.journal


# --- a position's stops -------------------------------------------------------------------


def modify_position(desk: Desk, position: int, rid: str = "s", **fields: Any) -> Outcome:
    return desk.send(
        c.ModifyPosition(
            request_id=rid,
            account_id=1,
            position_id=position,
            **fields,
        )
    )


def test_changing_only_a_positions_take_profit_keeps_its_stop_loss(desk: Desk) -> None:
    position = position_of(place(desk, "open", "buy", sl=D("1.09000")))
    desk.advance(1)
    outcome = modify_position(desk, position, tp=D("1.11000"))
    answer = accepted(outcome)
    assert (answer.request_id, answer.position_id) == ("s", position)
    updated = of_type(outcome, c.PositionUpdate)[0]
    assert updated in outcome.journal
    assert (updated.sl, updated.tp, updated.time) == (D("1.09000"), D("1.11000"), desk.now)


@pytest.mark.parametrize(
    ("side", "fields"),
    [
        # a buy closes at the bid 1.09999: a stop loss at 1.10001 is above it
        ("buy", {"sl": D("1.10001")}),
        ("buy", {"tp": D("1.09990")}),  # a take profit below the bid
        # a sell closes at the ask 1.10003: a stop loss at 1.10001 is below it
        ("sell", {"sl": D("1.10001")}),
        ("buy", {"sl": D("NaN")}),
        ("buy", {"tp": D("1.100005")}),
        ("buy", {"sl": D("1.09000"), "tp": D(0)}),
    ],
)
def test_a_refused_stop_change_names_its_request_and_keeps_the_levels(
    desk: Desk, side: str, fields: dict[str, Any]
) -> None:
    position = position_of(place(desk, "open", side))
    refused(modify_position(desk, position, **fields), "s", c.RejectCode.INVALID_STOPS)
    held = desk.core.ctx.accounts[1].positions[position]
    assert (held.sl, held.tp) == (None, None)


def test_changing_the_stops_of_an_unknown_position_is_refused(desk: Desk) -> None:
    refused(modify_position(desk, 99, sl=D("1.09000")), "s", c.RejectCode.UNKNOWN_POSITION)


# --- close ---------------------------------------------------------------------------------


def close(
    desk: Desk, position: int, lots: str | None = None, account: int = 1, rid: str = "x"
) -> Outcome:
    volume = None if lots is None else D(lots)
    return desk.send(
        c.ClosePosition(request_id=rid, account_id=account, position_id=position, volume=volume)
    )


@pytest.mark.parametrize("lots", ["2", "1.0001", "0", "-1", "NaN", "0.005"])
def test_closing_a_volume_the_position_does_not_have_is_refused(desk: Desk, lots: str) -> None:
    position = position_of(place(desk, "open", "buy"))
    refused(close(desk, position, lots), "x", c.RejectCode.INVALID_VOLUME)
    assert desk.core.ctx.accounts[1].positions[position].units == 10_000


def test_closing_is_refused_for_an_unknown_position_a_closed_market_or_account(
    desk: Desk,
) -> None:
    position = position_of(place(desk, "open", "buy"))
    refused(close(desk, 99), "x", c.RejectCode.UNKNOWN_POSITION)
    desk.core.ctx.accounts[1].enabled = False
    refused(close(desk, position, rid="x2"), "x2", c.RejectCode.ACCOUNT_DISABLED)
    desk.core.ctx.accounts[1].enabled = True
    desk.at(SATURDAY)
    refused(close(desk, position, rid="x3"), "x3", c.RejectCode.MARKET_CLOSED)


def test_a_close_is_an_ioc_market_order_of_the_account_for_the_position(desk: Desk) -> None:
    position = position_of(place(desk, "open", "buy"))
    desk.advance(1)
    outcome = close(desk, position, "0.3")
    answer = accepted(outcome)
    recorded = update(outcome)
    assert (answer.request_id, answer.order_id, answer.position_id) == (
        "x", recorded.order_id, position,
    )  # fmt: skip
    assert answer.order_id is not None
    assert (recorded.account_id, recorded.side, recorded.type, recorded.tif) == (
        1, c.Side.SELL, c.OrderType.MARKET, IOC,
    )  # fmt: skip
    assert (recorded.volume, recorded.position_id, recorded.request_id, recorded.time) == (
        D("0.3"), position, "x", desk.now,
    )  # fmt: skip


def test_closing_on_a_rate_limited_account_spends_a_token() -> None:
    desk = make_desk(orders_per_second=100, order_burst=2)
    position = position_of(place(desk, "open", "buy"))
    # the burst of 2 went on the opening order and this close
    assert of_type(close(desk, position, "0.1"), c.Deal)[0].entry is c.DealEntry.OUT
    refused(close(desk, position, "0.1", rid="x2"), "x2", c.RejectCode.TOO_MANY_REQUESTS)


def test_closing_part_of_a_netting_position(desk: Desk) -> None:
    position = position_of(place(desk, "open", "buy", account=3))
    deal = of_type(close(desk, position, "0.4", account=3), c.Deal)[0]
    assert (deal.entry, deal.position_id) == (c.DealEntry.OUT, position)
    assert [p.units for p in desk.core.ctx.accounts[3].positions.values()] == [6_000]


# --- close by -----------------------------------------------------------------------------


def close_by(desk: Desk, first: int, second: int, account: int = 1, rid: str = "cb") -> Outcome:
    return desk.send(
        c.CloseBy(
            request_id=rid, account_id=account, position_id=first, opposite_position_id=second
        )
    )


def test_close_by_answers_with_the_first_position(desk: Desk) -> None:
    buy = position_of(place(desk, "b", "buy"))
    sell = position_of(place(desk, "s", "sell"))
    answer = accepted(close_by(desk, buy, sell))
    assert (answer.request_id, answer.position_id, len(answer.deal_ids)) == ("cb", buy, 2)


def test_close_by_refusals_name_the_request(desk: Desk) -> None:
    buy = position_of(place(desk, "b", "buy"))
    jpy = position_of(place(desk, "j", "sell", symbol="USDJPY"))
    refused(close_by(desk, 99, buy, rid="cb1"), "cb1", c.RejectCode.UNKNOWN_POSITION)
    refused(close_by(desk, buy, 99, rid="cb2"), "cb2", c.RejectCode.UNKNOWN_POSITION)
    other = refused(close_by(desk, buy, jpy, rid="cb3"), "cb3", c.RejectCode.UNKNOWN_POSITION)
    assert "opposite" in other.message
    netting = position_of(place(desk, "n", "buy", account=3))
    refused(close_by(desk, netting, 99, account=3, rid="cb4"), "cb4", c.RejectCode.HEDGING_ONLY)
    sell = position_of(place(desk, "s", "sell"))
    desk.at(SATURDAY)
    refused(close_by(desk, buy, sell, rid="cb5"), "cb5", c.RejectCode.MARKET_CLOSED)


def test_close_by_waits_for_the_rate_that_values_its_profit() -> None:
    desk = make_desk()
    desk.quote("GER40", "18000.0", "18001.0")
    buy = position_of(place(desk, "b", "buy", symbol="GER40"))
    sell = position_of(place(desk, "s", "sell", symbol="GER40"))
    again = restored(desk)
    again.quote("GER40", "18000.0", "18001.0")  # EUR profit, but no EURUSD rate yet
    refused(close_by(again, buy, sell), "cb", c.RejectCode.OFF_QUOTES)
    again.quote("EURUSD", "1.10000", "1.10002")
    assert len(accepted(close_by(again, buy, sell, rid="cb6")).deal_ids) == 2


# --- the smallest volume there is: one volume unit, 0.0001 lot ---------------------------


def test_a_position_of_one_volume_unit_closes_and_keeps_its_stop_loss() -> None:
    micro = Instrument(
        "MICRO", 5, D(100_000), "EUR", "USD", "EUR", CalcMode.FOREX,
        volume_min=D("0.0001"), volume_step=D("0.0001"), symbol_group="forex.major",
    )  # fmt: skip
    desk = Desk(sample_core(instruments=[*instruments(), micro], groups=groups()))
    desk.core.add_account(1, "pro-usd", balance=D(10_000))
    desk.quote("MICRO", "1.10000", "1.10002")  # client 1.09999 / 1.10003
    position = position_of(place(desk, "open", "buy", "0.0002", symbol="MICRO", sl=D("1.09900")))
    assert of_type(close(desk, position, "0.0001"), c.Deal)[0].volume == D("0.0001")
    assert desk.core.ctx.accounts[1].positions[position].units == 1
    deals = of_type(desk.quote("MICRO", "1.09901", "1.09903"), c.Deal)  # client bid 1.09900
    assert [(d.reason, d.volume) for d in deals] == [(c.DealReason.SL, D("0.0001"))]


# --- a close routed to an LP, and closes while another price is missing ------------------


def test_a_close_routed_to_the_lp_closes_the_position_when_filled() -> None:
    desk = Desk(sample_core(groups=groups(), rules=[RoutingRule(RouteAction.A_BOOK)]))
    desk.core.add_account(1, "pro-usd", balance=D(10_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    place(desk, "open", "buy")  # routed, then filled by the LP
    [position] = desk.core.ctx.accounts[1].positions
    desk.advance(1)
    command = c.ClosePosition(request_id="x", account_id=1, position_id=position, volume=None)
    routed = desk.core.handle(command, desk.now)  # not yet sent to the LP
    assert accepted(routed).state is c.OrderState.ROUTED
    snapshot = image.take(desk.core.ctx.accounts[1], desk.now, desk.now)
    assert [(o.position_id, o.created_at) for o in snapshot.orders] == [(position, desk.now)]
    deals = of_type(desk.pump(routed), c.Deal)  # the LP fills at its bid 1.10000
    assert [(d.entry, d.position_id) for d in deals] == [(c.DealEntry.OUT, position)]
    assert desk.core.ctx.accounts[1].positions == {}


def test_a_position_closes_on_its_own_price_while_another_symbol_is_unquoted(desk: Desk) -> None:
    position = position_of(place(desk, "open", "buy"))
    place(desk, "jpy", "buy", symbol="USDJPY")
    pending(desk, "take", "sell", "limit", "1.10100", position_id=position, lots="0.5")
    again = restored(desk)
    again.quote("EURUSD", "1.10000", "1.10002")  # USDJPY not quoted since the restart
    # the account cannot be valued, but closing only lowers its margin
    assert of_type(close(again, position, "0.2"), c.Deal)[0].entry is c.DealEntry.OUT
    fired = of_type(again.quote("EURUSD", "1.10101", "1.10103"), c.Deal)  # client bid 1.10100
    assert [(d.entry, d.volume) for d in fired] == [(c.DealEntry.OUT, D("0.5"))]
    assert again.core.ctx.accounts[1].positions[position].units == 3_000
    # a new order on the account still waits for every price
    refused(place(again, "new", "buy"), "new", c.RejectCode.OFF_QUOTES)


def test_a_pending_order_hedging_a_position_needs_no_new_margin() -> None:
    desk = Desk(sample_core(groups=groups()))
    desk.core.add_account(1, "pro-usd", balance=D(1_500))
    desk.quote("EURUSD", "1.10000", "1.10002")  # client 1.09999 / 1.10003
    place(desk, "sell", "sell")  # margin 100,000 x 1.09999 / 100 = 1,099.99 of 1,496.50
    refused(place(desk, "more", "sell"), "more", c.RejectCode.NO_MONEY)  # 2 x 1,099.99 > equity
    order = pending(desk, "hedge", "buy", "stop", "1.10100")
    outcome = desk.quote("EURUSD", "1.10097", "1.10099")  # client ask 1.10100
    # the overlap is charged half of each leg: about the same 1,100 as before
    assert (update(outcome).order_id, update(outcome).state) == (order, c.OrderState.FILLED)
