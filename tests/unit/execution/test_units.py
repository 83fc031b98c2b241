"""Client decimals with more digits than Decimal's context (28) are refused, not rounded to a
neighbour: a volume, price, stop or amount the core cannot hold exactly changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution import contracts as c
from execution.testkit import Desk, accepted, of_type, rejected, sample_core
from execution.units import decimal_to_int, lots_to_units, price_to_points

D = Decimal
# 1 lot and one unit in the 32nd decimal: 33 significant digits
ONE_LOT_AND_A_BIT = "1.00000000000000000000000000000001"


@pytest.fixture
def desk() -> Desk:
    desk = Desk(sample_core())
    desk.core.add_account(1, "retail-usd", balance=D(10_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def test_a_value_the_context_cannot_hold_is_not_a_whole_number_of_units() -> None:
    assert lots_to_units(D(ONE_LOT_AND_A_BIT)) is None
    assert price_to_points(D("1.1000000000000000000000000000001"), 5) is None
    assert decimal_to_int(D("250.000000000000000000000000000001"), 2) is None
    # more digits than the context, all of them zeros: exactly 1 lot, nothing to round
    assert lots_to_units(D("1.0000000000000000000000000000000000")) == 10_000


def test_a_volume_with_a_digit_beyond_the_context_is_refused(desk: Desk) -> None:
    outcome = desk.place(1, "EURUSD", "buy", ONE_LOT_AND_A_BIT)

    assert rejected(outcome) is c.RejectCode.INVALID_VOLUME
    assert of_type(outcome, c.Deal) == []
    assert desk.core.ctx.accounts[1].positions == {}


def test_prices_and_stops_with_a_digit_beyond_the_context_are_refused(desk: Desk) -> None:
    limit = desk.place(
        1,
        "EURUSD",
        "buy",
        "1",
        type=c.OrderType.LIMIT,
        price=D("1.0900000000000000000000000000001"),
    )
    stop_loss = desk.place(1, "EURUSD", "buy", "1", sl=D("1.0900000000000000000000000000001"))

    assert rejected(limit) is c.RejectCode.INVALID_PRICE
    assert rejected(stop_loss) is c.RejectCode.INVALID_STOPS
    assert desk.core.ctx.accounts[1].positions == {}
    assert desk.core.ctx.accounts[1].orders == {}


def test_a_position_keeps_its_stops_and_volume_when_the_change_has_too_many_digits(
    desk: Desk,
) -> None:
    position_id = accepted(desk.place(1, "EURUSD", "buy", "2", sl=D("1.09"))).position_id
    assert position_id is not None

    modified = desk.send(
        c.ModifyPosition(
            request_id=desk.request_id(),
            account_id=1,
            position_id=position_id,
            tp=D("1.1100000000000000000000000000001"),
        )
    )
    closed = desk.close(1, position_id, ONE_LOT_AND_A_BIT)

    assert rejected(modified) is c.RejectCode.INVALID_STOPS
    assert rejected(closed) is c.RejectCode.INVALID_VOLUME
    position = desk.core.ctx.accounts[1].positions[position_id]
    assert (position.units, position.sl, position.tp) == (20_000, 109_000, None)


def test_a_deposit_with_a_digit_beyond_the_context_is_refused(desk: Desk) -> None:
    outcome = desk.deposit(1, "250.000000000000000000000000000001")

    assert rejected(outcome) is c.RejectCode.INVALID_AMOUNT
    assert of_type(outcome, c.BalanceChange) == []
    assert desk.core.ctx.accounts[1].balance == 1_000_000  # 10,000.00 USD in cents
