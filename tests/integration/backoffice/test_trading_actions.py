"""Admin actions reach the running execution service and leave an audit record with before
and after and a row on the client's timeline: a leverage change sets the next order's margin,
the dealer's close books a deal with the dealer as its origin, money above the threshold waits
for a second staff member, and a retried action executes once."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from backoffice.audit import Actor
from backoffice.trading import errors
from backoffice.trading.actions import (
    balance_correction,
    change_leverage,
    dealer_close,
    dealer_close_all,
    grant_credit,
    set_trading_enabled,
)
from backoffice.trading.approvals import approve_request, reject_request
from backoffice.trading.requests import pending_requests
from brokerstack.streams import ACCOUNT_STATES_HASH
from execution import contracts as c
from tests.integration.backoffice.support_trading import Trading, add_staff, trading
from tests.integration.execution.support import place


@pytest.fixture
def t(seeded_db_url: str, redis_url: str) -> Any:
    with trading(seeded_db_url, redis_url) as running:
        yield running


def _staff(t: Trading, brand: str | None = "demo") -> Actor:
    with psycopg.connect(t.desk.db_url) as conn:
        return Actor.staff(add_staff(conn, brand))


def _audit(t: Trading, action: str) -> list[tuple[Any, ...]]:
    return t.rows(
        """SELECT actor_id, entity_id, before, after FROM audit_log WHERE action = %s
           ORDER BY chain_seq""",
        action,
    )


def _timeline(t: Trading, event: str) -> list[tuple[Any, ...]]:
    return t.rows(
        """SELECT staff_user_id, channel, payload FROM crm_events
           WHERE client_id = %s AND event_type = %s""",
        t.account.client_id,
        event,
    )


def _margin_after(t: Trading, since: int) -> Decimal:
    deadline = time.monotonic() + 10
    aid = t.account.account_id
    while True:
        data = t.desk.hash_field(ACCOUNT_STATES_HASH, str(aid))
        state = c.decode_event(data) if data is not None else None
        if isinstance(state, c.AccountState) and state.time > since and state.positions:
            return state.margin
        assert time.monotonic() < deadline, f"last state {state!r}"
        time.sleep(0.05)


def test_a_leverage_change_sets_the_next_orders_margin_and_is_audited(t: Trading) -> None:
    staff = _staff(t)
    aid = t.account.account_id
    with psycopg.connect(t.desk.db_url) as conn, pytest.raises(errors.LeverageAboveCap):
        change_leverage(conn, t.commands, staff, {1}, request_id="lev-0", account_id=aid,
                        leverage=50, cap=30)  # fmt: skip
    assert t.rows("SELECT count(*) FROM admin_requests") == [(0,)]
    with psycopg.connect(t.desk.db_url) as conn:
        done = change_leverage(conn, t.commands, staff, None, request_id="lev-1",
                               account_id=aid, leverage=20, cap=30)  # fmt: skip
    assert done.status == "executed"

    since = time.time_ns()
    opened = t.desk.client.request(place("buy", aid, "buy", "0.10"))
    assert isinstance(opened, c.Accepted), opened
    # CFDLEVERAGE, contract 1: 0.10 lot x 64001.01 (client ask) / 20 = 320.005 -> 320.01
    # (at the group's 1:100 it would be 64.00)
    assert _margin_after(t, since) == Decimal("320.01")

    ((actor, entity, before, after),) = _audit(t, "trading.change_leverage")
    assert (actor, entity) == (staff.id, str(aid))
    assert (before["account"]["leverage"], after["account"]["leverage"]) == (None, 20)
    assert (before["account"]["effective_leverage"], after["account"]["effective_leverage"]) == (
        100, 20,
    )  # fmt: skip
    ((who, channel, payload),) = _timeline(t, "trading.change_leverage")
    assert (who, channel, payload["after"]["account"]["leverage"]) == (int(staff.id), "trading", 20)


def test_the_dealer_closes_a_position_as_the_dealer(t: Trading) -> None:
    dealer = _staff(t)
    aid = t.account.account_id
    opened = t.desk.client.request(place("open", aid, "buy", "0.05"))
    assert isinstance(opened, c.Accepted), opened
    assert opened.position_id is not None
    with psycopg.connect(t.desk.db_url) as conn:
        switched = set_trading_enabled(conn, t.commands, dealer, None, request_id="off",
                                       account_id=aid, enabled=False)  # fmt: skip
    assert switched.status == "executed"
    t.desk.quote("BTCUSD", "64100.00", "64101.00")  # client bid 64099.99
    with psycopg.connect(t.desk.db_url) as conn:
        closed = dealer_close(conn, t.commands, dealer, None, request_id="close-1",
                              position_id=opened.position_id)  # fmt: skip
    assert closed.reply is not None
    (deal_id,) = closed.reply["deal_ids"]
    # (64099.99 - 64001.01) x 0.05 = 4.949 -> 4.95
    assert t.rows("SELECT reason, price, profit FROM deals WHERE id = %s", deal_id) == [
        ("dealer", Decimal("64099.99"), Decimal("4.95"))
    ]
    ((_, _, before, after),) = _audit(t, "trading.dealer_close")
    assert [p["position_id"] for p in before["positions"]] == [opened.position_id]
    assert after["positions"] == []
    assert [(d["deal_id"], d["reason"]) for d in after["deals"]] == [(deal_id, "dealer")]
    # money is kept as its text in the audit record
    assert Decimal(after["account"]["balance"]) == Decimal(before["account"]["balance"]) + Decimal(
        "4.95"
    )
    assert len(_timeline(t, "trading.dealer_close")) == 1

    with psycopg.connect(t.desk.db_url) as conn, pytest.raises(errors.PositionNotFound):
        dealer_close(conn, t.commands, dealer, None, request_id="close-2",
                     position_id=opened.position_id)  # fmt: skip
    with psycopg.connect(t.desk.db_url) as conn:  # nothing open: closing all closes nothing
        nothing = dealer_close_all(conn, t.commands, dealer, None, request_id="close-3",
                                   account_id=aid)  # fmt: skip
    assert nothing.reply is not None
    assert nothing.reply["deal_ids"] == []


def test_money_above_the_threshold_waits_for_a_second_staff_member(t: Trading) -> None:
    maker, checker = _staff(t), _staff(t)
    aid = t.account.account_id

    def correct(request_id: str, amount: str) -> Any:
        with psycopg.connect(t.desk.db_url) as conn:
            return balance_correction(conn, t.commands, maker, None, request_id=request_id,
                                      account_id=aid, amount=Decimal(amount),
                                      comment="fee refund", threshold=Decimal(1000))  # fmt: skip

    waiting = correct("big", "5000.00")
    assert waiting.status == "pending"
    assert correct("big", "5000.00").id == waiting.id  # a retry: the same request
    with pytest.raises(errors.RequestIdReused):
        correct("big", "6000.00")
    assert t.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid) == [(Decimal(10_000),)]
    with psycopg.connect(t.desk.db_url) as conn:
        assert [r.request_id for r in pending_requests(conn, None)] == ["big"]
        with pytest.raises(errors.CheckerIsMaker):
            approve_request(conn, t.commands, maker, None, request_id="big")
    for _ in range(2):  # the checker's retried approval executes once
        with psycopg.connect(t.desk.db_url) as conn:
            approved = approve_request(conn, t.commands, checker, None, request_id="big")
        assert (approved.status, approved.checker_id) == ("approved", int(checker.id))
    assert t.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid) == [(Decimal(15_000),)]
    ((actor, _, before, after),) = _audit(t, "trading.balance_correction")
    assert actor == checker.id
    balances = Decimal(before["account"]["balance"]), Decimal(after["account"]["balance"])
    assert balances == (Decimal(10_000), Decimal(15_000))
    assert after["maker_id"] == int(maker.id)

    # under the threshold: at once, and once however often it is sent
    assert correct("small", "-250.00").status == "executed"
    assert correct("small", "-250.00").status == "executed"
    assert t.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid) == [
        (Decimal("14750.00"),)
    ]
    assert len(_audit(t, "trading.balance_correction")) == 2


def test_a_rejected_request_sends_nothing_and_scopes_hide_other_brands(t: Trading) -> None:
    maker, checker = _staff(t), _staff(t)
    aid = t.account.account_id
    with psycopg.connect(t.desk.db_url) as conn:
        asked = grant_credit(conn, t.commands, maker, None, request_id="credit", account_id=aid,
                             amount=Decimal(2000), comment="", threshold=Decimal(500))  # fmt: skip
        assert asked.status == "pending"
        rejected = reject_request(conn, checker, None, request_id="credit", reason="no basis")
        assert rejected.status == "rejected"
        with pytest.raises(errors.AlreadyDecided):
            approve_request(conn, t.commands, _staff(t), None, request_id="credit")
    assert t.rows("SELECT credit FROM trading_accounts WHERE id = %s", aid) == [(0,)]
    ((_, _, _, after),) = _audit(t, "trading.credit.rejected")
    assert after == {"status": "rejected", "reason": "no basis"}

    with psycopg.connect(t.desk.db_url) as conn:
        other_brand = conn.execute(
            "INSERT INTO brands (code, name) VALUES ('other', 'Other') RETURNING id"
        ).fetchone()
    assert other_brand is not None
    with psycopg.connect(t.desk.db_url) as conn, pytest.raises(errors.AccountNotFound):
        set_trading_enabled(conn, t.commands, maker, {other_brand[0]}, request_id="x",
                            account_id=aid, enabled=False)  # fmt: skip
    # the caller commits regardless: a refused action still leaves nothing
    with psycopg.connect(t.desk.db_url) as conn, pytest.raises(errors.ExecutionRefused) as refused:
        grant_credit(conn, t.commands, maker, None, request_id="minus", account_id=aid,
                     amount=Decimal(-1), comment="", threshold=None)  # fmt: skip
    assert refused.value.code == "invalid_amount"  # credit may not go below zero
    assert t.rows("SELECT count(*) FROM admin_requests") == [(1,)]  # the refusals left nothing
