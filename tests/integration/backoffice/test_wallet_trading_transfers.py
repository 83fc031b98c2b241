"""Money between a wallet and a live trading account, through the real execution service over
Redis: the saga stopped after each of its steps ends, on recovery, in one consistent outcome,
with the money in exactly one place and the transit account back at zero.

Expected balances are the test's own arithmetic over the amounts it moves; the wallet's balance
is a plain sum over ``ledger_entries`` and the trading account's is the execution service's
journaled row."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import psycopg
import pytest

from backoffice.commands import RedisCommands
from backoffice.errors import Refused
from backoffice.jobs import JOBS
from backoffice.wallets import trading_transfers as saga
from backoffice.wallets.accounts import open_wallet
from execution import contracts as c
from tests.integration.backoffice.support_trading import Trading, trading
from warehouse import ledger

NOW = timedelta(0)


def fund_wallet(conn: psycopg.Connection[Any], client_id: int, amount: str) -> int:
    """A card deposit's ledger side: PSP clearing -> the client's USD wallet."""
    wallet = open_wallet(conn, client_id, "USD")
    psp = conn.execute(
        "SELECT id FROM ledger_accounts WHERE code = 'demo:psp_clearing:stub-psp:USD'"
    ).fetchone()
    assert psp is not None
    ledger.post(conn, [ledger.move(f"fund-{client_id}-{amount}", "USD", "deposit", psp[0],
                                   wallet.ledger_account_id, D(amount))])  # fmt: skip
    conn.commit()
    return wallet.ledger_account_id


def wallet_balance(conn: psycopg.Connection[Any], account: int) -> D:
    row = conn.execute(
        "SELECT -coalesce(sum(amount), 0) FROM ledger_entries WHERE ledger_account_id = %s",
        (account,),
    ).fetchone()
    assert row is not None
    return D(row[0])


def trading_balance(t: Trading) -> D:
    [(balance,)] = t.rows("SELECT balance FROM trading_accounts WHERE id = %s",
                          t.account.account_id)  # fmt: skip
    return D(balance)


def transit_total(conn: psycopg.Connection[Any]) -> D:
    row = conn.execute(
        """SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
           JOIN ledger_accounts a ON a.id = e.ledger_account_id WHERE a.kind = 'transit'"""
    ).fetchone()
    assert row is not None
    return D(row[0])


def held(conn: psycopg.Connection[Any], account: int) -> D:
    available = ledger.available(conn, account)
    assert available is not None
    return wallet_balance(conn, account) - available


@pytest.fixture
def live(seeded_db_url: str, redis_url: str) -> Any:
    with trading(seeded_db_url, redis_url, kind="live") as t:
        yield t


@pytest.fixture
def conn(seeded_db_url: str) -> Any:
    with psycopg.connect(seeded_db_url) as connection:
        yield connection


def test_money_moves_to_the_trading_account_and_back(live: Trading, conn: Any) -> None:
    cid, aid = live.account.client_id, live.account.account_id
    wallet = fund_wallet(conn, cid, "500.00")
    before = trading_balance(live)
    done = saga.transfer(conn, live.commands, cid, aid, "to_trading", D("200.00"), "t-1")
    assert (done.status, done.failure) == ("completed", None)
    assert wallet_balance(conn, wallet) == D("300.00")
    assert trading_balance(live) == before + D("200.00")
    back = saga.transfer(conn, live.commands, cid, aid, "from_trading", D("50.00"), "t-2")
    assert back.status == "completed"
    assert wallet_balance(conn, wallet) == D("350.00")
    assert trading_balance(live) == before + D("150.00")
    assert transit_total(conn) == 0
    # the same key answers the same transfer; another amount under it is refused
    again = saga.transfer(conn, live.commands, cid, aid, "to_trading", D("200.00"), "t-1")
    assert (again.id, again.status) == (done.id, "completed")
    with pytest.raises(Refused) as conflict:
        saga.transfer(conn, live.commands, cid, aid, "to_trading", D("201.00"), "t-1")
    assert conflict.value.code == "idempotency_conflict"
    assert wallet_balance(conn, wallet) == D("350.00")
    assert trading_balance(live) == before + D("150.00")
    timeline = [r[0] for r in conn.execute(
        "SELECT event_type FROM crm_events WHERE client_id = %s ORDER BY id", (cid,))]  # fmt: skip
    assert timeline == ["wallet.transfer_started", "wallet.transfer_completed"] * 2
    assert ledger.check(conn).ok


def test_refusals_move_nothing(live: Trading, conn: Any) -> None:
    cid, aid = live.account.client_id, live.account.account_id
    wallet = fund_wallet(conn, cid, "100.00")
    before = trading_balance(live)
    with pytest.raises(Refused) as refused:
        saga.transfer(conn, live.commands, cid, aid, "to_trading", D("100.01"), "too-much")
    assert refused.value.code == "insufficient_funds"
    assert refused.value.message == "your USD wallet has 100.00 USD available"
    for bad in (D(0), D("-5"), D("1.001")):
        with pytest.raises(Refused):
            saga.transfer(conn, live.commands, cid, aid, "to_trading", bad, f"bad-{bad}")
    assert conn.execute("SELECT count(*) FROM wallet_transfers").fetchone() == (0,)
    # out of the trading account: more than its free margin is the execution service's no
    failed = saga.transfer(conn, live.commands, cid, aid, "from_trading", before + 1, "big")
    assert (failed.status, failed.failure) == ("failed", c.RejectCode.NO_MONEY.value)
    assert wallet_balance(conn, wallet) == D("100.00")
    assert held(conn, wallet) == 0
    assert trading_balance(live) == before
    assert transit_total(conn) == 0


@pytest.mark.parametrize("direction", ["to_trading", "from_trading"])
@pytest.mark.parametrize("stop_after", ["start", "command"])
def test_a_saga_stopped_after_a_step_recovers_to_one_outcome(
    live: Trading, conn: Any, direction: saga.Direction, stop_after: str
) -> None:
    cid, aid = live.account.client_id, live.account.account_id
    wallet = fund_wallet(conn, cid, "400.00")
    before = trading_balance(live)
    total = wallet_balance(conn, wallet) + before
    started = saga.start(conn, cid, aid, direction, D("120.00"), "crash-1")
    # stopped here: the money has not moved; to the trading account it is held in the wallet
    assert wallet_balance(conn, wallet) == D("400.00")
    assert held(conn, wallet) == (D("120.00") if direction == "to_trading" else 0)
    if stop_after == "command":  # the command reached the service; the settlement never ran
        reply = live.commands.execute(saga._command(started))
        assert isinstance(reply, c.Accepted)
        # the money is in the trading account now and still held in the wallet: not spendable
        assert trading_balance(live) == before + (D(120) if direction == "to_trading" else D(-120))
    assert saga.recover(conn, live.commands, older_than=timedelta(days=1)) == []  # too fresh
    [ended] = saga.recover(conn, live.commands, older_than=NOW)
    assert (ended.id, ended.status) == (started.id, "completed")
    moved = D("120.00") if direction == "to_trading" else D("-120.00")
    assert trading_balance(live) == before + moved  # once, whatever the retries
    assert wallet_balance(conn, wallet) == D("400.00") - moved
    assert held(conn, wallet) == 0
    assert wallet_balance(conn, wallet) + trading_balance(live) == total
    assert transit_total(conn) == 0
    assert saga.recover(conn, live.commands, older_than=NOW) == []
    changes = live.rows(
        "SELECT count(*) FROM ledger_transfers WHERE description LIKE %s",
        f"%request {started.command_id}%",
    )
    assert changes == [(1,)]
    assert ledger.check(conn).ok


def test_with_the_service_unreachable_the_saga_waits_then_completes(
    live: Trading, conn: Any, redis_url: str
) -> None:
    cid, aid = live.account.client_id, live.account.account_id
    wallet = fund_wallet(conn, cid, "80.00")
    before = trading_balance(live)
    nobody = RedisCommands(redis_url, shard="nobody-listens", timeout=0.3)
    try:
        waiting = saga.transfer(conn, nobody, cid, aid, "to_trading", D("80.00"), "wait-1")
    finally:
        nobody.close()
    assert waiting.status == "started"
    assert held(conn, wallet) == D("80.00")
    job = next(j for j in JOBS if j.name == "wallets.transfer_recovery")
    assert job.every_seconds <= 60
    [ended] = saga.recover(conn, live.commands, older_than=NOW)
    assert ended.status == "completed"
    assert trading_balance(live) == before + D("80.00")
    assert wallet_balance(conn, wallet) == 0
    assert transit_total(conn) == 0
