"""Balance operations to the cent: the edges of what a withdrawal or credit may take, the
ledger transfer's every field, and refusals that name their request (tests written against the
mutants mutmut left alive in execution/balance.py, see docs/testing.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution import contracts as c
from execution import image
from execution.records import LedgerTransfer, Outcome
from execution.samples import retail_group
from execution.testkit import Desk, accepted, of_type, reply, sample_core

D = Decimal
DEPOSIT, WITHDRAWAL = c.BalanceKind.DEPOSIT, c.BalanceKind.WITHDRAWAL
CREDIT, CORRECTION = c.BalanceKind.CREDIT, c.BalanceKind.CORRECTION


def make_desk() -> Desk:
    groups = [retail_group(), retail_group("branded", brand="acme")]
    desk = Desk(sample_core(groups=groups))
    desk.core.add_account(1, "retail-usd")
    desk.core.add_account(2, "branded")
    desk.quote("EURUSD", "1.10000", "1.10002")  # client 1.09999 / 1.10003
    return desk


@pytest.fixture
def desk() -> Desk:
    return make_desk()


def operation(
    desk: Desk,
    rid: str,
    kind: c.BalanceKind,
    amount: str,
    wallet: str | None = None,
    account: int = 1,
    comment: str = "",
) -> Outcome:
    return desk.send(
        c.BalanceOperation(
            request_id=rid, account_id=account, kind=kind, amount=D(amount), wallet_id=wallet,
            comment=comment,
        )
    )  # fmt: skip


def refused(outcome: Outcome, rid: str, code: c.RejectCode) -> c.Rejected:
    answer = reply(outcome)
    assert isinstance(answer, c.Rejected), answer
    assert (answer.request_id, answer.code) == (rid, code)
    assert outcome.journal == []
    return answer


def transfer(outcome: Outcome) -> LedgerTransfer:
    transfers = [r for r in outcome.journal if isinstance(r, LedgerTransfer)]
    assert len(transfers) == 1, transfers
    return transfers[0]


def legs(outcome: Outcome) -> set[tuple[str, Decimal, str]]:
    return {(leg.ledger_account, leg.amount, leg.currency) for leg in transfer(outcome).legs}


@pytest.mark.parametrize(
    ("kind", "amount", "wallet", "code", "says"),
    [
        (DEPOSIT, "0.001", "w1", "invalid_amount", "0.001"),  # the amount it could not take
        (DEPOSIT, "0", "w1", "invalid_amount", "0"),
        (DEPOSIT, "-10", "w1", "invalid_amount", "positive"),
        (WITHDRAWAL, "-10", "w1", "invalid_amount", "positive"),
        (DEPOSIT, "10", None, "malformed", "wallet"),
        (WITHDRAWAL, "10", "", "malformed", "wallet"),
        (CREDIT, "-0.01", None, "invalid_amount", "credit"),
        (c.BalanceKind.PNL, "10", None, "malformed", "pnl"),
    ],
)
def test_a_refused_operation_names_its_request_and_explains_itself(
    desk: Desk, kind: c.BalanceKind, amount: str, wallet: str | None, code: str, says: str
) -> None:
    answer = refused(operation(desk, "b1", kind, amount, wallet), "b1", c.RejectCode(code))
    assert says in answer.message


def test_a_deposit_of_one_cent_is_taken(desk: Desk) -> None:
    assert accepted(operation(desk, "b1", DEPOSIT, "0.01", "w1")).balance == D("0.01")


def test_a_deposit_is_recorded_with_its_entry_time_comment_and_ledger(desk: Desk) -> None:
    desk.advance(5)
    outcome = operation(desk, "b1", DEPOSIT, "250.50", "w7", comment="bank wire 42")
    change = of_type(outcome, c.BalanceChange)[0]
    assert change in outcome.journal
    assert (change.amount, change.balance, change.time, change.comment, change.request_id) == (
        D("250.50"), D("250.50"), desk.now, "bank wire 42", "b1",
    )  # fmt: skip
    assert isinstance(change.entry_id, int)
    ledger = transfer(outcome)
    assert (ledger.request_id, ledger.account_id, ledger.kind, ledger.time) == (
        "b1", 1, DEPOSIT, desk.now,
    )  # fmt: skip
    assert legs(outcome) == {("trading:1", D("250.50"), "USD"), ("transit", D("-250.50"), "USD")}
    second = of_type(operation(desk, "b2", DEPOSIT, "1", "w7"), c.BalanceChange)[0]
    assert second.entry_id > change.entry_id


def test_the_whole_balance_of_an_account_without_positions_may_be_withdrawn(desk: Desk) -> None:
    operation(desk, "b1", DEPOSIT, "100", "w1")
    outcome = operation(desk, "b2", WITHDRAWAL, "100", "w1")
    assert accepted(outcome).balance == D("0.00")
    assert legs(outcome) == {("trading:1", D(-100), "USD"), ("transit", D(100), "USD")}


def test_credit_is_not_withdrawable_even_as_free_margin(desk: Desk) -> None:
    operation(desk, "b1", DEPOSIT, "100", "w1")
    operation(desk, "b2", CREDIT, "500")  # free margin 600.00, balance 100.00
    refused(operation(desk, "b3", WITHDRAWAL, "100.01", "w1"), "b3", c.RejectCode.NO_MONEY)
    assert accepted(operation(desk, "b4", WITHDRAWAL, "100", "w1")).balance == D(0)


def test_a_withdrawal_may_take_exactly_the_free_margin(desk: Desk) -> None:
    operation(desk, "b1", DEPOSIT, "1000", "w1")
    accepted(desk.place(1, "EURUSD", "buy", "0.2"))
    # bought 0.2 lot (20,000 EUR) at the ask 1.10003; commission 0.2 x 3.50 = 0.70
    # balance 1,000 - 0.70 = 999.30; floating at the bid 1.09999: -0.00004 x 20,000 = -0.80
    # equity 998.50; margin 20,000 x 1.10003 / 30 = 733.3533 -> 733.35; free 265.15
    refused(operation(desk, "b2", WITHDRAWAL, "265.16", "w1"), "b2", c.RejectCode.NO_MONEY)
    assert accepted(operation(desk, "b3", WITHDRAWAL, "265.15", "w1")).balance == D("734.15")


def test_no_withdrawal_before_the_account_can_be_valued_after_a_restart(desk: Desk) -> None:
    operation(desk, "b1", DEPOSIT, "1000", "w1")
    accepted(desk.place(1, "EURUSD", "buy", "0.1"))
    again = Desk(sample_core(groups=[retail_group()]), now=desk.now)
    image.install(again.core.ctx, image.take(desk.core.ctx.accounts[1], desk.now, desk.now))
    refused(operation(again, "b2", WITHDRAWAL, "1", "w1"), "b2", c.RejectCode.NO_MONEY)


def test_credit_adds_up_may_go_back_to_zero_and_books_against_the_brand(desk: Desk) -> None:
    first = operation(desk, "b1", CREDIT, "100")
    assert legs(first) == {
        ("trading-credit:1", D(100), "USD"),
        ("credit:retail-usd", D(-100), "USD"),  # no brand: the group's name
    }
    more = of_type(operation(desk, "b2", CREDIT, "50"), c.BalanceChange)[0]
    assert more.credit == D(150)
    back = of_type(operation(desk, "b3", CREDIT, "-150"), c.BalanceChange)[0]
    assert (back.credit, back.balance) == (D(0), D(0))
    branded = operation(desk, "b4", CREDIT, "10", account=2)
    assert ("credit:acme", D(-10), "USD") in legs(branded)


def test_a_correction_books_against_the_broker(desk: Desk) -> None:
    outcome = operation(desk, "b1", CORRECTION, "-5")
    assert legs(outcome) == {("trading:1", D(-5), "USD"), ("broker:corrections", D(5), "USD")}
    assert transfer(outcome).kind is CORRECTION
