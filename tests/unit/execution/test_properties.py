"""Property tests: the balance is its history, and protected accounts never end in debt."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution import contracts as c
from execution.groups import Accounting
from execution.records import Outcome
from execution.samples import retail_group
from execution.testkit import Desk, sample_core

D = Decimal
LOTS = ["0.01", "0.1", "0.5", "1", "3", "0", "-1", "NaN"]

actions = st.lists(
    st.one_of(
        st.tuples(st.just("price"), st.integers(-4_000, 4_000)),
        st.tuples(st.just("gap"), st.integers(-60_000, 60_000)),
        st.tuples(st.just("buy"), st.sampled_from(LOTS)),
        st.tuples(st.just("sell"), st.sampled_from(LOTS)),
        st.tuples(st.just("close"), st.integers(0, 5)),
        st.tuples(st.just("deposit"), st.integers(-100, 5_000)),
        st.tuples(st.just("withdraw"), st.integers(1, 5_000)),
        st.tuples(st.just("hours"), st.integers(1, 30)),
    ),
    max_size=40,
)


def run(
    accounting: Accounting,
    steps: list[tuple[str, object]],
    after_each: Callable[[Desk], None] = lambda desk: None,
) -> tuple[Desk, list[Outcome]]:
    group = retail_group("g", accounting=accounting)
    desk = Desk(sample_core(groups=[group]))
    desk.core.add_account(1, "g", balance=D(1_000))
    outcomes = []
    mid = 110_000
    outcomes.append(desk.quote("EURUSD", "1.10000", "1.10002"))
    for kind, value in steps:
        assert isinstance(value, int | str)
        if kind in ("price", "gap"):
            mid = max(10_000, mid + int(value))
            outcomes.append(
                desk.quote("EURUSD", str(D(mid).scaleb(-5)), str(D(mid + 2).scaleb(-5)))
            )
        elif kind in ("buy", "sell"):
            outcomes.append(desk.place(1, "EURUSD", kind, str(value)))
        elif kind == "close":
            positions = list(desk.core.ctx.accounts[1].positions)
            if positions:
                outcomes.append(desk.close(1, positions[int(value) % len(positions)]))
        elif kind in ("deposit", "withdraw"):
            operation = c.BalanceKind.DEPOSIT if kind == "deposit" else c.BalanceKind.WITHDRAWAL
            command = c.BalanceOperation(
                request_id=desk.request_id(), account_id=1, kind=operation,
                amount=D(int(value)), wallet_id="w",
            )  # fmt: skip
            outcomes.append(desk.send(command))
        else:
            desk.advance(int(value) * 3_600)
            outcomes.append(desk.timer())
            outcomes.append(
                desk.quote("EURUSD", str(D(mid).scaleb(-5)), str(D(mid + 2).scaleb(-5)))
            )
        after_each(desk)
    return desk, outcomes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounting=st.sampled_from(list(Accounting)), steps=actions)
def test_balance_is_opening_plus_realised_pnl_commission_swap_and_operations(
    accounting: Accounting, steps: list[tuple[str, object]]
) -> None:
    desk, outcomes = run(accounting, steps)
    events = [e for o in outcomes for e in o.events]
    deals = [e for e in events if isinstance(e, c.Deal)]
    changes = [e for e in events if isinstance(e, c.BalanceChange)]
    realised = sum((d.profit + d.commission + d.swap for d in deals), D(0))
    operations = sum(
        (
            b.amount
            for b in changes
            if b.kind in (c.BalanceKind.DEPOSIT, c.BalanceKind.WITHDRAWAL, c.BalanceKind.WRITE_OFF)
        ),
        D(0),
    )
    balance = D(desk.core.ctx.accounts[1].balance).scaleb(-2)
    assert balance == D(1_000) + realised + operations
    if changes:
        assert changes[-1].balance == balance


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounting=st.sampled_from(list(Accounting)), steps=actions)
def test_protected_accounts_are_never_flat_in_debt(
    accounting: Accounting, steps: list[tuple[str, object]]
) -> None:
    checked: list[int] = []

    def no_debt_when_flat(desk: Desk) -> None:
        account = desk.core.ctx.accounts[1]
        checked.append(account.balance)
        if not account.positions:
            assert account.balance >= 0

    full = [("buy", "1"), *steps, ("gap", -60_000), ("gap", -60_000)]
    run(accounting, full, no_debt_when_flat)
    assert len(checked) == len(full)  # the check ran after every step
