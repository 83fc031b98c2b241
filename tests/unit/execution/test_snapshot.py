"""Rebuilding the core from rows gives the same state and the same future."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from execution import contracts as c
from execution.core import Core, CoreConfig
from execution.groups import Accounting
from execution.instruments import ConfigError
from execution.samples import instruments, retail_group
from execution.snapshot import AccountRow, PositionRow, Snapshot
from execution.testkit import Desk, accepted, of_type

D = Decimal


def config() -> CoreConfig:
    return CoreConfig(instruments=instruments(), groups=[retail_group("g", markups={})])


def trade(desk: Desk) -> None:
    desk.core.add_account(1, "g", balance=D(10_000))
    desk.core.add_account(2, "g", balance=D(5_000), kyc_level=3)
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("USDJPY", "150.000", "150.010")
    accepted(desk.place(1, "EURUSD", "buy", "1", sl=D("1.09000")))
    accepted(desk.place(1, "EURUSD", "sell", "0.3"))
    accepted(desk.place(2, "USDJPY", "sell", "0.5"))
    accepted(desk.place(2, "EURUSD", "buy", "0.2", type=c.OrderType.LIMIT, price=D("1.09500")))
    desk.quote("EURUSD", "1.10100", "1.10102")


def test_round_trip_keeps_state_and_the_future() -> None:
    original = Desk(Core(config()))
    trade(original)
    snapshot = original.core.snapshot()
    rebuilt = Desk(Core.from_snapshot(config(), snapshot), now=original.now)
    assert rebuilt.core.snapshot() == snapshot
    rebuilt._request = original._request  # same request ids from here on
    for desk in (original, rebuilt):
        desk.quote("EURUSD", "1.10100", "1.10102")  # prices are not state: quote again
        desk.quote("USDJPY", "150.000", "150.010")
    a = original.quote("EURUSD", "1.09490", "1.09492")  # fills the limit, hits the stop
    b = rebuilt.quote("EURUSD", "1.09490", "1.09492")
    assert a.events == b.events
    assert (
        original.place(1, "EURUSD", "buy", "2").events
        == rebuilt.place(1, "EURUSD", "buy", "2").events
    )


def test_a_remembered_reply_survives_the_rebuild() -> None:
    original = Desk(Core(config()))
    trade(original)
    rebuilt = Core.from_snapshot(config(), original.core.snapshot())
    replay = c.PlaceOrder(
        request_id="r1", account_id=1, symbol="EURUSD", side=c.Side.BUY, volume=D(1),
        sl=D("1.09000"), deadline=original.now + 10**9,
    )  # fmt: skip
    outcome = rebuilt.handle(replay, original.now)
    assert outcome.journal == []
    assert isinstance(outcome.replies[0], c.Accepted)
    assert outcome.replies[0].order_id == 1
    # the same request id with another command is a conflict, not that order again
    other = msgspec.structs.replace(replay, volume=D(2))
    conflict = rebuilt.handle(other, original.now)
    assert conflict.journal == []
    assert conflict.replies[0] == c.Rejected(
        request_id="r1",
        code=c.RejectCode.IDEMPOTENCY_CONFLICT,
        message="this request id was used for a different command",
    )


def test_rows_that_cannot_be_traded_are_refused_at_load() -> None:
    bad_group = Snapshot(accounts=[AccountRow(1, "nope", D(1))])
    with pytest.raises(ConfigError):
        Core.from_snapshot(config(), bad_group)
    off_grid = Snapshot(
        accounts=[AccountRow(1, "g", D(1))],
        positions=[PositionRow(1, 1, "EURUSD", c.Side.BUY, D(1), D("1.100001"), 0)],
    )
    with pytest.raises(ConfigError):
        Core.from_snapshot(config(), off_grid)


def test_money_not_exact_in_minor_units_is_refused_naming_the_account() -> None:
    with pytest.raises(ConfigError, match=r"account 7: balance 10\.005"):
        Core.from_snapshot(config(), Snapshot(accounts=[AccountRow(7, "g", D("10.005"))]))
    core = Core(config())
    with pytest.raises(ConfigError, match="account 8"):
        core.add_account(8, "g", balance=D("0.001"))
    assert core.ctx.accounts == {}


def test_an_averaged_positions_exact_cost_survives_the_rebuild() -> None:
    group = retail_group("n", markups={}, commissions={}, accounting=Accounting.NETTING)
    config = CoreConfig(instruments=instruments(), groups=[group])
    desk = Desk(Core(config))
    desk.core.add_account(1, "n", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    accepted(desk.place(1, "EURUSD", "buy", "5"))  # at 1.10002
    desk.quote("EURUSD", "1.10003", "1.10005")
    accepted(desk.place(1, "EURUSD", "buy", "5"))  # at 1.10005: the average 1.100035 is
    snapshot = desk.core.snapshot()  # between two points
    assert [p.open_price for p in snapshot.positions] == [D("1.10004")]  # rounded for show
    rebuilt = Desk(Core.from_snapshot(config, snapshot), desk.now)
    rebuilt._request = desk._request
    for one in (desk, rebuilt):
        one.quote("EURUSD", "1.10100", "1.10102")
    closed = [
        of_type(one.place(1, "EURUSD", "sell", "10"), c.Deal)[0].profit for one in (desk, rebuilt)
    ]
    # 1.10100 x 1,000,000 - (1.10002 + 1.10005) x 500,000 = 1,101,000 - 1,100,035 = 965.00;
    # at the rounded average 1.10004 it would be 960.00
    assert closed == [D("965.00"), D("965.00")]
