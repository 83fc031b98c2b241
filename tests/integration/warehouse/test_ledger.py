"""The ledger's posting function on a real PostgreSQL: idempotency by key and content, all-or-
none batches, guarded balances, two-phase transfers, and the check that recomputes balances.

Expected balances are computed here from the amounts the test posts (or by a plain query over
``ledger_entries``), never read back through the posting function's own bookkeeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from brokerstack.cli import app
from tests.integration.warehouse.ledger_support import broker, entries_sum, one, stored, wallet
from warehouse import ledger
from warehouse.ledger import Hold, move


def keys_like(conn: psycopg.Connection[Any], pattern: str) -> int:
    return int(one(conn, "SELECT count(*) FROM ledger_transfers WHERE idempotency_key LIKE %s",
                   (pattern,)))  # fmt: skip


@pytest.fixture
def psp(conn: psycopg.Connection[Any]) -> int:
    return broker(conn, "demo:psp_clearing:stub-psp:EUR")


def deposit(key: str, psp: int, wallet_id: int, amount: str) -> ledger.Transfer:
    return move(key, "EUR", "deposit", psp, wallet_id, D(amount))


def test_a_retried_key_answers_its_first_transfer_and_other_content_is_a_conflict(
    conn: psycopg.Connection[Any], psp: int
) -> None:
    w = wallet(conn)
    [first] = ledger.post(conn, [deposit("dep-1", psp, w, "100.00")])
    [again] = ledger.post(conn, [deposit("dep-1", psp, w, "100.00")])
    assert (again.transfer_id, again.replayed, first.replayed) == (first.transfer_id, True, False)
    with pytest.raises(ledger.IdempotencyConflict):
        ledger.post(conn, [deposit("dep-1", psp, w, "100.01")])
    assert entries_sum(conn, w) == D("-100.00")
    assert stored(conn, w)[0] == D("-100.00")
    assert one(conn, "SELECT count(*) FROM ledger_transfers WHERE idempotency_key = 'dep-1'") == 1


def test_a_batch_posts_all_or_nothing(conn: psycopg.Connection[Any], psp: int) -> None:
    a, b = wallet(conn), wallet(conn)
    ledger.post(conn, [deposit("seed-a", psp, a, "50")])
    # the second transfer takes more than b has: the first must not be posted either
    with pytest.raises(ledger.InsufficientFunds) as refused:
        ledger.post(
            conn,
            [
                deposit("batch-1", psp, b, "10"),
                move("batch-2", "EUR", "withdrawal", b, psp, D("10.01")),
            ],
        )
    assert refused.value.details["account_id"] == b
    assert (
        one(conn, "SELECT count(*) FROM ledger_transfers WHERE idempotency_key LIKE 'batch-%'") == 0
    )
    assert entries_sum(conn, b) == 0
    assert stored(conn, b)[0] == 0
    # unbalanced, zero, wrong currency, unknown account, too many decimals: refused, nothing kept
    for bad in (
        ledger.Transfer(
            "bad-1", "EUR", "deposit", (ledger.Entry(psp, D(5)), ledger.Entry(a, D(-4)))
        ),
        ledger.Transfer(
            "bad-2", "EUR", "deposit", (ledger.Entry(psp, D(0)), ledger.Entry(a, D(0)))
        ),
        move("bad-3", "USD", "deposit", psp, a, D(5)),
        move("bad-4", "EUR", "deposit", psp, 99_999_999, D(5)),
        move("bad-5", "EUR", "deposit", psp, a, D("0.000000001")),
    ):
        with pytest.raises(ledger.LedgerError):
            ledger.post(conn, [bad])
    assert (
        one(conn, "SELECT count(*) FROM ledger_transfers WHERE idempotency_key LIKE 'bad-%'") == 0
    )
    assert entries_sum(conn, a) == D(-50)


def test_a_wallet_never_goes_below_zero_but_money_in_is_always_taken(
    conn: psycopg.Connection[Any], psp: int
) -> None:
    w = wallet(conn)
    with pytest.raises(ledger.InsufficientFunds):
        ledger.post(conn, [move("out-0", "EUR", "withdrawal", w, psp, D("0.01"))])
    ledger.post(conn, [deposit("in-1", psp, w, "20")])
    ledger.post(conn, [move("out-1", "EUR", "withdrawal", w, psp, D("20"))])
    assert entries_sum(conn, w) == 0
    # the PSP clearing account is not guarded: it may go either way
    assert entries_sum(conn, psp) == 0


def test_a_reservation_holds_money_until_posted_in_part_voided_or_expired(
    conn: psycopg.Connection[Any], psp: int
) -> None:
    w = wallet(conn)
    ledger.post(conn, [deposit("in", psp, w, "100")])
    later = datetime.now(UTC) + timedelta(hours=1)
    hold = ledger.reserve(conn, Hold("wd-1", "EUR", "withdrawal", w, psp, D(60), later))
    assert ledger.available(conn, w) == D(40)
    assert entries_sum(conn, w) == D(-100)  # a hold moves no money
    with pytest.raises(ledger.InsufficientFunds):
        ledger.reserve(conn, Hold("wd-2", "EUR", "withdrawal", w, psp, D("40.01"), later))
    with pytest.raises(ledger.InsufficientFunds):
        ledger.post(conn, [move("direct", "EUR", "withdrawal", w, psp, D(41))])
    # the same key and content answers the first reservation; other content conflicts
    assert ledger.reserve(conn, Hold("wd-1", "EUR", "withdrawal", w, psp, D(60), later)).replayed
    with pytest.raises(ledger.IdempotencyConflict):
        ledger.reserve(conn, Hold("wd-1", "EUR", "withdrawal", w, psp, D(61), later))

    posted = ledger.post_pending(conn, hold.id, D(45))  # the PSP paid 45: 15 released
    assert (posted.outcome, posted.posted_amount) == ("posted", D(45))
    assert entries_sum(conn, w) == D(-55)
    assert ledger.available(conn, w) == D(55)
    assert ledger.post_pending(conn, hold.id, D(45)).replayed
    with pytest.raises(ledger.PendingClosed):
        ledger.post_pending(conn, hold.id, D(50))
    with pytest.raises(ledger.PendingClosed):
        ledger.void_pending(conn, hold.id)

    second = ledger.reserve(conn, Hold("wd-3", "EUR", "withdrawal", w, psp, D(55), later))
    assert ledger.available(conn, w) == 0
    assert ledger.void_pending(conn, second.id, "rejected by finance").outcome == "voided"
    assert ledger.void_pending(conn, second.id).replayed
    assert ledger.available(conn, w) == D(55)

    soon = datetime.now(UTC) + timedelta(seconds=1)
    third = ledger.reserve(conn, Hold("wd-4", "EUR", "withdrawal", w, psp, D(5), soon))
    assert ledger.available(conn, w) == D(50)
    assert ledger.expire_pending(conn, datetime.now(UTC)) == []
    assert ledger.expire_pending(conn, soon + timedelta(seconds=1)) == [third.id]
    assert ledger.available(conn, w) == D(55)
    fourth = ledger.reserve(conn, Hold("wd-5", "EUR", "withdrawal", w, psp, D(5), soon))
    with pytest.raises(ledger.PendingClosed):  # past its time: refused, and recorded as expired
        ledger.post_pending(conn, fourth.id, now=soon + timedelta(seconds=1))
    assert one(conn, "SELECT outcome FROM ledger_pending_resolutions WHERE pending_id = %s",
                (fourth.id,)) == "expired"  # fmt: skip
    assert ledger.available(conn, w) == D(55)
    assert stored(conn, w) == (D(-55), D(0), D(0))
    assert ledger.check(conn).ok


def test_pending_and_resolutions_are_immutable(conn: psycopg.Connection[Any], psp: int) -> None:
    w = wallet(conn)
    ledger.post(conn, [deposit("in", psp, w, "10")])
    hold = ledger.reserve(conn, Hold("h", "EUR", "withdrawal", w, psp, D(1),
                                     datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip
    ledger.void_pending(conn, hold.id)
    for statement in (
        "UPDATE ledger_pending SET amount = 2",
        "DELETE FROM ledger_pending_resolutions",
    ):
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute(statement)


def test_the_check_names_every_stored_balance_that_differs_from_its_entries(
    conn: psycopg.Connection[Any], psp: int
) -> None:
    w, v = wallet(conn), wallet(conn)
    ledger.post(conn, [deposit("in-w", psp, w, "30"), deposit("in-v", psp, v, "40")])
    ledger.reserve(conn, Hold("h", "EUR", "withdrawal", v, psp, D(10),
                              datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip
    report = ledger.check(conn)
    assert report.ok
    assert report.transfers == 2
    conn.execute("UPDATE ledger_balances SET balance = -31 WHERE ledger_account_id = %s", (w,))
    conn.execute("UPDATE ledger_balances SET pending_debits = 0 WHERE ledger_account_id = %s", (v,))
    report = ledger.check(conn)
    assert not report.ok
    assert {(d.account_id, d.what, d.stored, d.derived) for d in report.differences} == {
        (w, "balance", D(-31), D(-30)),
        (v, "pending_debits", D(0), D(10)),
    }


def test_a_hundred_concurrent_withdrawals_never_reserve_more_than_the_wallet_holds(
    seeded_db_url: str, conn: psycopg.Connection[Any], psp: int
) -> None:
    w = wallet(conn)
    ledger.post(conn, [deposit("in", psp, w, "1000")])
    later = datetime.now(UTC) + timedelta(hours=1)
    start = threading.Barrier(100)
    outcomes: list[str] = []

    def request(n: int) -> None:
        with psycopg.connect(seeded_db_url) as own:
            start.wait()
            try:
                ledger.reserve(own, Hold(f"wd-{n}", "EUR", "withdrawal", w, psp, D("33.33"), later))
                own.commit()
                outcomes.append("held")
            except ledger.InsufficientFunds:
                own.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=request, args=(n,)) for n in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = one(
        conn,
        "SELECT coalesce(sum(amount), 0) FROM ledger_pending WHERE debit_account_id = %s",
        (w,),
    )
    # 1000 / 33.33 = 30 whole withdrawals
    assert outcomes.count("held") == 30
    assert outcomes.count("refused") == 70
    assert held == D("999.90")
    assert ledger.available(conn, w) == D("0.10")
    assert ledger.check(conn).ok


def test_ledger_check_command_lists_differences_and_exits_1(
    seeded_db_url: str, conn: psycopg.Connection[Any], psp: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = wallet(conn)
    ledger.post(conn, [deposit("in", psp, w, "12.50")])
    monkeypatch.setenv("BROKERSTACK_DATABASE_URL", seeded_db_url)
    runner = CliRunner()
    intact = runner.invoke(app, ["ledger", "check"], env={"COLUMNS": "300"})
    assert intact.exit_code == 0, intact.output
    assert "ledger balanced: 1 transfers" in intact.output
    conn.execute("UPDATE ledger_balances SET balance = 0 WHERE ledger_account_id = %s", (w,))
    broken = runner.invoke(app, ["ledger", "check"], env={"COLUMNS": "300"})
    assert broken.exit_code == 1
    assert f"ledger account {w}: balance stored 0.00000000, derived -12.50000000" in broken.output
    assert "found 1 differences" in broken.output
