"""Balance operations: deposit, withdrawal, credit, correction, with ledger legs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution import contracts as c
from execution.records import LedgerTransfer, Outcome
from execution.testkit import Desk, accepted, of_type, rejected, sample_core

D = Decimal


@pytest.fixture
def desk() -> Desk:
    desk = Desk(sample_core())
    desk.core.add_account(1, "retail-usd")
    desk.quote("EURUSD", "1.10000", "1.10002")
    return desk


def operation(desk: Desk, kind: c.BalanceKind, amount: str, wallet: str | None = "w1") -> Outcome:
    return desk.send(
        c.BalanceOperation(
            request_id=desk.request_id(),
            account_id=1,
            kind=kind,
            amount=D(amount),
            wallet_id=wallet,
        )
    )


def test_deposit_is_a_balance_change_and_a_balanced_ledger_transfer(desk: Desk) -> None:
    outcome = desk.deposit(1, "250.50")
    assert accepted(outcome).balance == D("250.50")
    change = of_type(outcome, c.BalanceChange)[0]
    assert (change.kind, change.amount, change.request_id) == (
        c.BalanceKind.DEPOSIT,
        D("250.50"),
        "r1",
    )
    transfer = next(r for r in outcome.journal if isinstance(r, LedgerTransfer))
    assert transfer.request_id == "r1"
    assert {(leg.ledger_account, leg.amount) for leg in transfer.legs} == {
        ("trading:1", D("250.50")),
        ("transit", D("-250.50")),
    }


def test_withdrawal_is_limited_by_free_margin(desk: Desk) -> None:
    desk.deposit(1, "1000")
    accepted(desk.place(1, "EURUSD", "buy", "0.2"))  # margin 733.35, commission 0.70
    assert rejected(operation(desk, c.BalanceKind.WITHDRAWAL, "300")) is c.RejectCode.NO_MONEY
    outcome = operation(desk, c.BalanceKind.WITHDRAWAL, "200")
    assert of_type(outcome, c.BalanceChange)[0].amount == D(-200)


def test_credit_and_correction(desk: Desk) -> None:
    credit = of_type(operation(desk, c.BalanceKind.CREDIT, "100", None), c.BalanceChange)[0]
    assert (credit.credit, credit.balance) == (D("100.00"), D("0.00"))
    correction = operation(desk, c.BalanceKind.CORRECTION, "-5", None)
    assert of_type(correction, c.BalanceChange)[0].balance == D("-5.00")
    assert (
        rejected(operation(desk, c.BalanceKind.CREDIT, "-101", None)) is c.RejectCode.INVALID_AMOUNT
    )


@pytest.mark.parametrize(
    ("kind", "amount", "wallet", "code"),
    [
        (c.BalanceKind.DEPOSIT, "0", "w1", c.RejectCode.INVALID_AMOUNT),
        (c.BalanceKind.DEPOSIT, "-10", "w1", c.RejectCode.INVALID_AMOUNT),
        (c.BalanceKind.DEPOSIT, "NaN", "w1", c.RejectCode.INVALID_AMOUNT),
        (c.BalanceKind.DEPOSIT, "0.001", "w1", c.RejectCode.INVALID_AMOUNT),  # below a cent
        (c.BalanceKind.DEPOSIT, "10", None, c.RejectCode.MALFORMED),
        (c.BalanceKind.PNL, "10", None, c.RejectCode.MALFORMED),  # not a client operation
    ],
)
def test_bad_balance_operations(
    desk: Desk, kind: c.BalanceKind, amount: str, wallet: str | None, code: c.RejectCode
) -> None:
    assert rejected(operation(desk, kind, amount, wallet)) is code
