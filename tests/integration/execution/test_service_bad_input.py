"""Bad input gets a reject with a reason and never stops the service; faults inside the service
neither lose nor duplicate anything."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import msgspec
import psycopg
import pytest

from execution import contracts as c
from execution.core import Core
from execution.service.accounts import AccountDirectory
from execution.service.journal import Journal
from tests.integration.execution.conftest import Desk
from tests.integration.execution.support import deposit, place


def _reject(reply: c.Reply) -> tuple[str, c.RejectCode]:
    assert isinstance(reply, c.Rejected), reply
    return reply.request_id, reply.code


def test_bad_commands_are_rejected_with_a_reason_and_the_service_keeps_trading(
    desk: Desk,
) -> None:
    aid = desk.account.account_id
    client = desk.client
    commands: list[c.Command] = [
        place("no-account", 987_654, "buy", "0.01"),
        place("no-symbol", aid, "buy", "0.01", symbol="NOSUCH"),
        place("zero", aid, "buy", "0"),
        place("nan", aid, "buy", "NaN"),
        place("too-fine", aid, "buy", "0.001"),
        place("far-off", aid, "buy", "0.01", type=c.OrderType.LIMIT, price=Decimal("640000")),
        c.BalanceOperation(
            request_id="no-wallet", account_id=aid, kind=c.BalanceKind.DEPOSIT,
            amount=Decimal(100), wallet_id="424242",
        ),
    ]  # fmt: skip
    for command in commands:
        client.send(command)
    # a map that is no command, with a request id to answer to, and bytes that are no map
    client.send_raw(msgspec.msgpack.encode({"t": "place", "request_id": "half", "v": 1}))
    client.send_raw(b"\xc1 not msgpack")
    client.send(place("", aid, "buy", "0.01"))  # no request id to answer by

    replies = client.wait([cmd.request_id for cmd in commands] + ["half"])
    deadline = time.monotonic() + 10
    while len(client.unmatched) < 2 and time.monotonic() < deadline:
        client.poll(0.2)

    assert [_reject(replies[cmd.request_id]) for cmd in commands] == [
        ("no-account", c.RejectCode.UNKNOWN_ACCOUNT),
        ("no-symbol", c.RejectCode.UNKNOWN_SYMBOL),
        ("zero", c.RejectCode.INVALID_VOLUME),
        ("nan", c.RejectCode.INVALID_VOLUME),
        ("too-fine", c.RejectCode.INVALID_VOLUME),
        ("far-off", c.RejectCode.INVALID_PRICE),
        ("no-wallet", c.RejectCode.UNKNOWN_WALLET),
    ]
    assert _reject(replies["half"]) == ("half", c.RejectCode.MALFORMED)
    assert [_reject(r) for r in client.unmatched] == [("", c.RejectCode.MALFORMED)] * 2
    # nothing was traded or booked, every entry is acknowledged, and the service still trades
    assert desk.rows("SELECT count(*) FROM orders") == [(0,)]
    assert desk.rows("SELECT balance FROM trading_accounts WHERE id = %s", aid) == [
        (Decimal(10_000),)
    ]
    ok = client.request(place("fine", aid, "buy", "0.01"))
    assert isinstance(ok, c.Accepted)
    assert desk.redis.xpending("commands:main", "execution")["pending"] == 0


def test_a_command_the_core_fails_on_is_rejected_and_the_core_rebuilt_from_the_journal(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = desk.account.account_id
    handle = Core.handle

    def failing(core: Core, command: c.Command, now: int) -> Any:
        if command.request_id == "boom":
            core.ctx.accounts[aid].balance += 1_000_000  # half-done work the rebuild undoes
            raise RuntimeError("bug")
        return handle(core, command, now)

    monkeypatch.setattr(Core, "handle", failing)
    desk.client.request(deposit("before", desk.account, "10.00"))

    boom = desk.client.request(place("boom", aid, "buy", "0.01"))
    desk.quote("BTCUSD", "64000.00", "64001.00")  # the rebuilt core needs a price again
    after = desk.client.request(deposit("after", desk.account, "5.00"))

    assert isinstance(boom, c.Rejected)
    assert boom.code is c.RejectCode.INTERNAL_ERROR
    assert boom.message == "internal error"
    # the corrupted in-memory balance is gone: the core was rebuilt from the warehouse
    assert isinstance(after, c.Accepted)
    assert after.balance == Decimal("10015.00")
    desk.client.received.clear()
    assert desk.client.request(place("boom", aid, "buy", "0.01")) == boom


def test_a_batch_the_warehouse_refuses_is_retried_never_answered_or_acknowledged_before(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = Journal.write
    failures = {"left": 3}

    def flaky(journal: Journal, conn: psycopg.Connection[Any], batch: Any) -> None:
        if failures["left"] and batch.processed:
            failures["left"] -= 1
            raise psycopg.OperationalError("warehouse gone")
        write(journal, conn, batch)

    monkeypatch.setattr(Journal, "write", flaky)
    desk.client.send(place("while-down", desk.account.account_id, "buy", "0.01"))
    deadline = time.monotonic() + 10
    while failures["left"] and time.monotonic() < deadline:
        assert desk.client.poll(0.05) == []
        assert desk.redis.xpending("commands:main", "execution")["pending"] == 1
    reply = desk.client.wait(["while-down"])["while-down"]

    assert failures["left"] == 0
    assert isinstance(reply, c.Accepted)
    assert desk.rows("SELECT count(*) FROM orders WHERE request_id = 'while-down'") == [(1,)]


def test_accounts_opened_or_disabled_by_the_back_office_are_seen_without_a_restart(
    desk: Desk,
) -> None:
    later = desk.new_account("500")

    opened = desk.client.request(place("new-1", later.account_id, "buy", "0.01"))
    with psycopg.connect(desk.db_url) as conn:
        conn.execute(
            "UPDATE trading_accounts SET enabled = false WHERE id = %s", (later.account_id,)
        )
    time.sleep(1)  # a few account refreshes
    refused = desk.client.request(place("new-2", later.account_id, "buy", "0.01"))

    assert isinstance(opened, c.Accepted)
    assert _reject(refused) == ("new-2", c.RejectCode.ACCOUNT_DISABLED)


def test_a_command_waits_unacknowledged_while_the_warehouse_cannot_look_up_its_account(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = desk.new_account("500")
    load = AccountDirectory._load
    failures = {"left": 3}

    def unreachable(directory: AccountDirectory, account_id: int, now: int) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise psycopg.OperationalError("warehouse gone")
        load(directory, account_id, now)

    monkeypatch.setattr(AccountDirectory, "_load", unreachable)
    desk.client.send(place("waits", later.account_id, "buy", "0.01"))
    deadline = time.monotonic() + 10
    while failures["left"] and time.monotonic() < deadline:
        assert desk.client.poll(0.05) == []
        assert desk.redis.xpending("commands:main", "execution")["pending"] == 1
    reply = desk.client.wait(["waits"])["waits"]

    assert isinstance(reply, c.Accepted)


def test_an_account_whose_balance_is_not_exact_in_cents_is_refused_by_name(
    desk: Desk,
) -> None:
    later = desk.new_account("100.005")  # half a cent: no USD balance can hold it

    refused = desk.client.request(place("inexact", later.account_id, "buy", "0.01"))
    fine = desk.client.request(place("fine", desk.account.account_id, "buy", "0.01"))

    assert _reject(refused) == ("inexact", c.RejectCode.ACCOUNT_DISABLED)
    assert isinstance(refused, c.Rejected)
    assert f"account {later.account_id}" in refused.message
    assert "100.005" in refused.message
    assert isinstance(fine, c.Accepted)
    # nothing traded on a balance of 0 or of 100.00: the row is as the back office left it
    assert desk.rows("SELECT balance FROM trading_accounts WHERE id = %s", later.account_id) == [
        (Decimal("100.005"),)
    ]
    assert desk.rows("SELECT count(*) FROM orders WHERE request_id = 'inexact'") == [(0,)]
    # once corrected, the account trades without a restart
    with psycopg.connect(desk.db_url) as conn:
        conn.execute(
            "UPDATE trading_accounts SET balance = 100.01 WHERE id = %s", (later.account_id,)
        )
    deadline = time.monotonic() + 10
    while True:
        again = desk.client.request(
            place(f"again-{time.monotonic()}", later.account_id, "buy", "0.01")
        )
        if isinstance(again, c.Accepted) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert isinstance(again, c.Accepted), again
