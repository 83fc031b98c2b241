"""Pre-trade risk and bad input: every reject carries a reason, nothing raises."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from execution import contracts as c
from execution.records import Outcome
from execution.samples import retail_group
from execution.testkit import Desk, accepted, rejected, sample_core

D = Decimal


@pytest.fixture
def desk() -> Desk:
    groups = [
        retail_group(),
        retail_group("kyc", min_kyc_level=2),
        retail_group(
            "limited", max_positions=2, max_account_volume=D(3), orders_per_second=1, order_burst=3
        ),
    ]
    desk = Desk(sample_core(groups=groups))
    desk.core.add_account(1, "retail-usd", balance=D(10_000))
    desk.core.add_account(2, "kyc", balance=D(10_000), kyc_level=1)
    desk.core.add_account(3, "limited", balance=D(100_000))
    desk.core.add_account(4, "retail-usd", balance=D(10_000), enabled=False)
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


@pytest.mark.parametrize(
    ("account", "symbol", "lots", "code"),
    [
        (99, "EURUSD", "1", c.RejectCode.UNKNOWN_ACCOUNT),
        (1, "NOPE", "1", c.RejectCode.UNKNOWN_SYMBOL),
        (1, "EURUSD", "0", c.RejectCode.INVALID_VOLUME),
        (1, "EURUSD", "-1", c.RejectCode.INVALID_VOLUME),
        (1, "EURUSD", "NaN", c.RejectCode.INVALID_VOLUME),
        (1, "EURUSD", "sNaN", c.RejectCode.INVALID_VOLUME),
        (1, "EURUSD", "Infinity", c.RejectCode.INVALID_VOLUME),
        (1, "EURUSD", "0.015", c.RejectCode.INVALID_VOLUME),  # off the 0.01 step
        (1, "EURUSD", "1000", c.RejectCode.INVALID_VOLUME),  # above the maximum
        (1, "EURUSD", "1E+999999", c.RejectCode.INVALID_VOLUME),
        (2, "EURUSD", "1", c.RejectCode.KYC_NOT_APPROVED),
        (4, "EURUSD", "1", c.RejectCode.ACCOUNT_DISABLED),
        (1, "USDJPY", "1", c.RejectCode.OFF_QUOTES),  # never quoted
        (1, "EURUSD", "20", c.RejectCode.NO_MONEY),  # 20 lots at 30:1 needs ~73k USD
    ],
)
def test_bad_orders_are_rejected_with_a_reason(
    desk: Desk, account: int, symbol: str, lots: str, code: c.RejectCode
) -> None:
    assert rejected(desk.place(account, symbol, "buy", lots)) is code


def test_market_closed_on_saturday(desk: Desk) -> None:
    desk.at(datetime(2026, 3, 7, 12, tzinfo=UTC))
    desk.quote("EURUSD", "1.10000", "1.10002")
    assert rejected(desk.place(1, "EURUSD", "buy", "1")) is c.RejectCode.MARKET_CLOSED


def test_free_margin_after_the_order_decides(desk: Desk) -> None:
    # 2.5 lots x 100,000 / 30 x 1.10003 = 9,166.92 USD of margin on 10,000: fits
    assert accepted(desk.place(1, "EURUSD", "buy", "2.5")).state is c.OrderState.FILLED
    assert rejected(desk.place(1, "EURUSD", "buy", "0.3")) is c.RejectCode.NO_MONEY
    # a hedge of the same volume lowers the margin (50% hedged rate), so it is allowed
    assert accepted(desk.place(1, "EURUSD", "sell", "0.3")).state is c.OrderState.FILLED


def test_position_and_volume_limits(desk: Desk) -> None:
    accepted(desk.place(3, "EURUSD", "buy", "1"))
    accepted(desk.place(3, "EURUSD", "buy", "1"))
    assert rejected(desk.place(3, "EURUSD", "buy", "0.5")) is c.RejectCode.LIMIT_POSITIONS


def test_order_rate_limit_is_a_token_bucket_on_the_passed_clock(desk: Desk) -> None:
    codes = [reply_code(desk.place(3, "EURUSD", "buy", "5")) for _ in range(4)]
    # burst of 3 passes risk's token check (then fails on volume), the 4th is throttled
    assert codes == [c.RejectCode.LIMIT_EXPOSURE] * 3 + [c.RejectCode.TOO_MANY_REQUESTS]
    desk.advance(1)  # one order per second refills one token
    assert reply_code(desk.place(3, "EURUSD", "buy", "5")) is c.RejectCode.LIMIT_EXPOSURE
    assert reply_code(desk.place(3, "EURUSD", "buy", "5")) is c.RejectCode.TOO_MANY_REQUESTS


def reply_code(outcome: Outcome) -> c.RejectCode:
    return rejected(outcome)


def test_malformed_bytes_and_unknown_versions_are_rejected(desk: Desk) -> None:
    garbage = desk.core.handle_bytes(b"\xc1not msgpack", desk.now)
    assert rejected(garbage) is c.RejectCode.MALFORMED
    wrong_shape = msgspec.msgpack.encode({"t": "place", "request_id": "x", "volume": "a lot"})
    assert rejected(desk.core.handle_bytes(wrong_shape, desk.now)) is c.RejectCode.MALFORMED
    future = c.CancelOrder(request_id="v9", account_id=1, order_id=1, v=9)
    assert rejected(desk.send(future)) is c.RejectCode.UNSUPPORTED_VERSION


def test_a_replayed_request_id_gets_the_first_answer_without_executing_twice(desk: Desk) -> None:
    command = c.PlaceOrder(
        request_id="same", account_id=1, symbol="EURUSD", side=c.Side.BUY, volume=D(1)
    )
    first = desk.send(command)
    again = desk.send(command)
    assert again.replies == first.replies
    assert again.events == []
    assert again.journal == []
    assert len(desk.core.ctx.accounts[1].positions) == 1


def test_account_volume_limit_counts_every_open_lot() -> None:
    desk = Desk(sample_core(groups=[retail_group("v", max_account_volume=D(3))]))
    desk.core.add_account(1, "v", balance=D(1_000_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    accepted(desk.place(1, "EURUSD", "buy", "2"))
    accepted(desk.place(1, "EURUSD", "sell", "1"))  # hedged, but 3 lots are open
    assert rejected(desk.place(1, "EURUSD", "buy", "0.01")) is c.RejectCode.LIMIT_EXPOSURE


def test_group_net_volume_limit_spans_accounts_and_lets_exposure_fall() -> None:
    desk = Desk(sample_core(groups=[retail_group("n", max_group_net_volume=D(2))]))
    for account in (1, 2):
        desk.core.add_account(account, "n", balance=D(1_000_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    accepted(desk.place(1, "EURUSD", "buy", "1.5"))
    accepted(desk.place(2, "EURUSD", "buy", "0.5"))  # the group is net long 2 lots: at the limit
    assert rejected(desk.place(2, "EURUSD", "buy", "0.01")) is c.RejectCode.LIMIT_EXPOSURE
    accepted(desk.place(2, "EURUSD", "sell", "3"))  # net -1: shrinks the exposure, allowed
    assert rejected(desk.place(1, "EURUSD", "sell", "1.01")) is c.RejectCode.LIMIT_EXPOSURE


def test_a_margin_call_blocks_new_exposure_where_the_group_says_so_but_not_closing() -> None:
    group = retail_group("m", markups={}, commissions={}, block_new_on_margin_call=True)
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "m", balance=D(1000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    position = accepted(desk.place(1, "EURUSD", "buy", "0.2")).position_id or 0
    desk.quote("EURUSD", "1.07000", "1.07002")  # equity 399.60 on 713.35: 56 %, a margin call
    assert desk.core.ctx.accounts[1].in_margin_call
    assert rejected(desk.place(1, "EURUSD", "buy", "0.01")) is c.RejectCode.MARGIN_CALL
    assert accepted(desk.close(1, position, "0.1")).deal_ids


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (datetime(2026, 3, 6, 21, 59, 59, tzinfo=UTC), True),  # Friday 16:59:59 New York (EST)
        (datetime(2026, 3, 6, 22, 0, tzinfo=UTC), False),  # Friday 17:00: the week closes
        (datetime(2026, 3, 8, 20, 59, tzinfo=UTC), False),  # Sunday 16:59 EDT (DST began)
        (datetime(2026, 3, 8, 21, 0, tzinfo=UTC), True),  # Sunday 17:00 EDT: the week opens
    ],
)
def test_the_fx_week_opens_and_closes_at_17_00_new_york(moment: datetime, open_: bool) -> None:
    desk = Desk(sample_core())
    desk.core.add_account(1, "retail-usd", balance=D(10_000))
    desk.at(moment)
    desk.quote("EURUSD", "1.10000", "1.10002")
    outcome = desk.place(1, "EURUSD", "buy", "0.01")
    if open_:
        assert accepted(outcome).state is c.OrderState.FILLED
    else:
        assert rejected(outcome) is c.RejectCode.MARKET_CLOSED
