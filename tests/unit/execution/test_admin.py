"""The back office's actions on an account through the core: settings (leverage within the
group's caps, group moves, the client's KYC level and status) and the dealer's closes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from msgspec import UNSET

from execution import contracts as c
from execution.groups import Accounting
from execution.records import AccountChange
from execution.samples import retail_group
from execution.testkit import Desk, accepted, of_type, rejected, sample_core

D = Decimal


@pytest.fixture
def desk() -> Desk:
    groups = [
        retail_group(),  # 30:1, gold 20:1 (retail caps), stop-out 50 %
        retail_group("retail-usd-2"),
        retail_group("retail-eur", currency="EUR"),
        retail_group("other-brand", brand="other"),
        retail_group("kyc", min_kyc_level=2),
        retail_group("netting", accounting=Accounting.NETTING),
    ]
    desk = Desk(sample_core(groups=groups))
    desk.core.add_account(1, "retail-usd", balance=D(100_000))
    desk.core.add_account(2, "kyc", balance=D(10_000), kyc_level=1)
    desk.core.add_account(3, "retail-usd", balance=D(2_000))
    desk.quote("XAUUSD", "2000.00", "2000.00")  # client 1999.99 / 2000.01
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def update(desk: Desk, account: int, **fields: object) -> c.Reply:
    rid = desk.request_id()
    command = c.UpdateAccount(request_id=rid, account_id=account, **fields)  # type: ignore[arg-type]
    outcome = desk.send(command)
    assert len(outcome.replies) == 1
    return outcome.replies[0]


def margin(desk: Desk, account: int) -> Decimal:
    return desk.core.account_state(account, desk.now).margin


def test_an_accounts_own_leverage_sets_its_margin_within_the_groups_caps(desk: Desk) -> None:
    accepted(desk.place(1, "XAUUSD", "buy", "1"))
    # CFDLEVERAGE: 1 lot x 100 oz x 2000.01 (the ask) / 20 (the retail cap on gold)
    assert margin(desk, 1) == D("10000.05")

    lowered = update(desk, 1, leverage=10)
    assert isinstance(lowered, c.Accepted)
    assert lowered.account is not None
    assert lowered.account.leverage == 10
    assert margin(desk, 1) == D("20000.10")  # 100 x 2000.01 / 10, the open position too
    accepted(desk.place(1, "XAUUSD", "buy", "1"))
    assert margin(desk, 1) == D("40000.20")

    # 25 is under the group's 30 but over gold's cap: gold stays at 20:1
    assert isinstance(update(desk, 1, leverage=25), c.Accepted)
    assert margin(desk, 1) == D("20000.10")  # 2 lots x 100 x 2000.01 / 20
    # back to the group's leverage
    assert isinstance(update(desk, 1, leverage=None), c.Accepted)
    assert desk.core.ctx.accounts[1].leverage is None


@pytest.mark.parametrize("leverage", [0, -5, 31, 500])
def test_a_leverage_outside_what_the_group_allows_is_refused(desk: Desk, leverage: int) -> None:
    refused = update(desk, 1, leverage=leverage)
    assert isinstance(refused, c.Rejected)
    assert refused.code is c.RejectCode.INVALID_LEVERAGE
    assert desk.core.ctx.accounts[1].leverage is None


def test_a_leverage_that_would_stop_the_account_out_is_refused(desk: Desk) -> None:
    # 2,000 USD; 0.1 lot gold: margin 100 x 0.1 x 2000.01 / 20 = 1,000.01, level ~ 200 %
    accepted(desk.place(3, "XAUUSD", "buy", "0.1"))
    equity = desk.core.account_state(3, desk.now).equity
    # at 1:2 the margin is 10,000.05: a level of ~ 20 %, under the 50 % stop-out
    refused = update(desk, 3, leverage=2)
    assert isinstance(refused, c.Rejected)
    assert refused.code is c.RejectCode.NO_MONEY
    assert desk.core.ctx.accounts[3].leverage is None
    assert margin(desk, 3) == D("1000.01")
    # equity 2,000 - 0.35 commission - 0.20 floating = 1,999.45; at 1:5 the margin is
    # 4,000.02: 49.99 %, still under
    assert equity == D("1999.45")
    assert isinstance(update(desk, 3, leverage=5), c.Rejected)
    # at 1:6, 3,333.35: 59.98 %, under the margin call, over the stop-out: accepted, called
    outcome = desk.send(c.UpdateAccount(request_id="lev-6", account_id=3, leverage=6))
    assert isinstance(outcome.replies[0], c.Accepted)
    assert len(of_type(outcome, c.MarginCall)) == 1
    assert not of_type(outcome, c.StopOut)


def test_the_kyc_level_and_client_status_pushed_gate_trading_at_once(desk: Desk) -> None:
    assert rejected(desk.place(2, "EURUSD", "buy", "0.1")) is c.RejectCode.KYC_NOT_APPROVED
    pushed = update(desk, 2, kyc_level=2)
    assert isinstance(pushed, c.Accepted)
    assert pushed.account is not None
    assert pushed.account.kyc_level == 2
    accepted(desk.place(2, "EURUSD", "buy", "0.1"))

    assert isinstance(update(desk, 2, client_active=False), c.Accepted)
    assert rejected(desk.place(2, "EURUSD", "buy", "0.1")) is c.RejectCode.ACCOUNT_DISABLED
    # the client back: the account's own switch decides again
    assert isinstance(update(desk, 2, client_active=True, enabled=False), c.Accepted)
    assert rejected(desk.place(2, "EURUSD", "buy", "0.1")) is c.RejectCode.ACCOUNT_DISABLED
    assert isinstance(update(desk, 2, enabled=True), c.Accepted)
    accepted(desk.place(2, "EURUSD", "buy", "0.1"))
    assert isinstance(update(desk, 2, kyc_level=-1), c.Rejected)


def test_only_the_accounts_own_settings_are_journaled(desk: Desk) -> None:
    kyc_only = desk.send(c.UpdateAccount(request_id="k", account_id=2, kyc_level=2))
    assert not [r for r in kyc_only.journal if isinstance(r, AccountChange)]
    switched = desk.send(c.UpdateAccount(request_id="e", account_id=2, enabled=False))
    assert [r for r in switched.journal if isinstance(r, AccountChange)] == [
        AccountChange(2, "kyc", None, False)
    ]


@pytest.mark.parametrize(
    ("group", "why"),
    [
        ("nope", "unknown group"),
        ("retail-eur", "EUR"),
        ("other-brand", "brand"),
        ("netting", "netting"),  # while it holds a hedging position
    ],
)
def test_an_account_moves_only_to_a_group_of_its_brand_and_currency(
    desk: Desk, group: str, why: str
) -> None:
    accepted(desk.place(1, "XAUUSD", "buy", "1"))
    refused = update(desk, 1, group=group)
    assert isinstance(refused, c.Rejected)
    assert refused.code is c.RejectCode.INVALID_GROUP
    assert why in refused.message
    assert desk.core.ctx.accounts[1].group.name == "retail-usd"


def test_a_moved_account_trades_in_its_new_group(desk: Desk) -> None:
    accepted(desk.place(1, "XAUUSD", "buy", "1"))
    moved = update(desk, 1, group="retail-usd-2", leverage=10)
    assert isinstance(moved, c.Accepted)
    assert moved.account is not None
    assert (moved.account.group, moved.account.leverage) == ("retail-usd-2", 10)
    ctx = desk.core.ctx
    assert ctx.group_net[("retail-usd", "XAUUSD")] == 0
    assert ctx.group_net[("retail-usd-2", "XAUUSD")] == 10_000  # one lot, in units
    assert margin(desk, 1) == D("20000.10")
    # a leverage the new group would not allow, sent with the move, is refused with it
    assert isinstance(update(desk, 1, group="retail-usd", leverage=31), c.Rejected)


def test_the_dealer_closes_a_disabled_accounts_position_as_the_dealer(desk: Desk) -> None:
    opened = accepted(desk.place(1, "XAUUSD", "buy", "1"))
    assert isinstance(update(desk, 1, enabled=False), c.Accepted)
    client_close = desk.close(1, opened.position_id or 0)
    assert rejected(client_close) is c.RejectCode.ACCOUNT_DISABLED

    outcome = desk.send(
        c.DealerClose(request_id="d1", account_id=1, position_id=opened.position_id, dealer="7")
    )
    closed = accepted(outcome)
    (deal,) = of_type(outcome, c.Deal)
    assert closed.deal_ids == (deal.deal_id,)
    assert (deal.reason, deal.entry, deal.price) == (
        c.DealReason.DEALER, c.DealEntry.OUT, D("1999.99"),
    )  # fmt: skip
    assert not desk.core.ctx.accounts[1].positions
    # the same request again is answered, not executed twice
    again = desk.send(
        c.DealerClose(request_id="d1", account_id=1, position_id=opened.position_id, dealer="7")
    )
    assert again.replies == [closed]
    assert not of_type(again, c.Deal)


def test_the_dealer_closes_all_of_an_accounts_positions_or_none(desk: Desk) -> None:
    accepted(desk.place(1, "XAUUSD", "buy", "1"))
    accepted(desk.place(1, "EURUSD", "sell", "1"))
    desk.core.set_live("EURUSD", False)  # EURUSD off quotes: nothing is closed
    off = desk.send(c.DealerClose(request_id="all-1", account_id=1))
    assert rejected(off) is c.RejectCode.OFF_QUOTES
    assert len(desk.core.ctx.accounts[1].positions) == 2

    desk.quote("EURUSD", "1.10010", "1.10012")
    outcome = desk.send(c.DealerClose(request_id="all-2", account_id=1))
    closed = accepted(outcome)
    assert len(closed.deal_ids) == 2
    assert {d.reason for d in of_type(outcome, c.Deal)} == {c.DealReason.DEALER}
    assert not desk.core.ctx.accounts[1].positions
    assert closed.balance == desk.core.account_state(1, desk.now).balance
    # nothing left: closing all again closes nothing, and says so
    assert accepted(desk.send(c.DealerClose(request_id="all-3", account_id=1))).deal_ids == ()


def test_a_dealer_close_names_what_it_closes(desk: Desk) -> None:
    opened = accepted(desk.place(1, "XAUUSD", "buy", "1"))
    pid = opened.position_id
    for account, position, volume, code in [
        (1, 999, None, c.RejectCode.UNKNOWN_POSITION),
        (1, None, D(1), c.RejectCode.MALFORMED),  # a volume of every position
        (1, pid, D(2), c.RejectCode.INVALID_VOLUME),
        (99, None, None, c.RejectCode.UNKNOWN_ACCOUNT),
    ]:
        command = c.DealerClose(
            request_id=f"x{code}", account_id=account, position_id=position, volume=volume
        )
        assert rejected(desk.send(command)) is code
    half = accepted(
        desk.send(c.DealerClose(request_id="x5", account_id=1, position_id=pid, volume=D("0.5")))
    )
    assert len(half.deal_ids) == 1
    assert desk.core.ctx.accounts[1].positions[pid or 0].units == 5_000


def test_update_account_travels_with_unset_and_removed_fields_apart() -> None:
    removed = c.UpdateAccount(request_id="a", account_id=1, leverage=None)
    untouched = c.UpdateAccount(request_id="a", account_id=1)
    assert c.decode_command(c.encode(removed)) == removed
    assert c.decode_command(c.encode(untouched)).leverage is UNSET  # type: ignore[union-attr]
    assert c.identity(removed) != c.identity(untouched)
    reply = c.Accepted(
        request_id="a",
        account=c.AccountSettings(
            account_id=1, group="g", leverage=None, enabled=True, client_active=True, kyc_level=2
        ),
    )
    assert c.decode_reply(c.encode(reply)) == reply
