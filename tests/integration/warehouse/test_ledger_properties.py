"""Property tests of the ledger over random sequences of transfers, reservations, posts (in
part), voids, timeouts and retries, on a real PostgreSQL.

A plain model beside the ledger predicts each operation's outcome (a guarded wallet refuses
what it does not have available) and each account's balance; after every sequence the ledger
must agree with the model, every transfer must balance, every currency sum to zero, every
stored balance equal its entries, and no wallet be below zero or below what it holds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.warehouse.ledger_support import broker, entries_sum, stored, wallet
from warehouse import ledger
from warehouse.ledger import Hold, move

WALLETS = 3
amounts = st.integers(min_value=1, max_value=50_000).map(lambda cents: D(cents) / 100)
# deposits larger than what goes out, so sequences spend more time with money to move
deposits = st.integers(min_value=1, max_value=200_000).map(lambda cents: D(cents) / 100)

operation = st.one_of(
    st.tuples(st.just("deposit"), st.integers(0, WALLETS - 1), deposits),
    st.tuples(st.just("withdraw"), st.integers(0, WALLETS - 1), amounts),
    st.tuples(
        st.just("between"), st.integers(0, WALLETS - 1), st.integers(0, WALLETS - 1), amounts
    ),
    # to the PSP (a withdrawal) or to another wallet (index WALLETS and above: the PSP)
    st.tuples(
        st.just("reserve"),
        st.integers(0, WALLETS - 1),
        amounts,
        st.integers(1, 20),
        st.integers(0, WALLETS),
    ),
    st.tuples(st.just("post"), st.integers(0, 30), st.integers(1, 100)),
    st.tuples(st.just("void"), st.integers(0, 30)),
    st.tuples(st.just("timeout"), st.integers(1, 10)),
    st.tuples(st.just("retry"), st.integers(0, 60)),
)


@dataclass
class Model:
    wallets: list[int]
    psp: int
    balances: dict[int, D] = field(default_factory=dict)
    # the open holds: id -> (debit, credit, amount, expiry)
    holds: dict[int, tuple[int, int, D, datetime]] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)

    def held(self, account: int) -> D:
        return sum((amount for debit, _, amount, _ in self.holds.values() if debit == account),
                   D(0))  # fmt: skip

    def available(self, account: int) -> D:
        return -self.balances.get(account, D(0)) - self.held(account)

    def moved(self, debit: int, credit: int, amount: D) -> None:
        self.balances[debit] = self.balances.get(debit, D(0)) + amount
        self.balances[credit] = self.balances.get(credit, D(0)) - amount


def run(conn: psycopg.Connection[Any], model: Model, steps: list[tuple[Any, ...]]) -> None:
    prefix = uuid.uuid4().hex[:12]
    clock = datetime.now(UTC) + timedelta(hours=1)  # the sequence's own clock, after now()
    done: list[tuple[str, Any, Any]] = []  # what a retry repeats: (kind, call argument, result)
    pendings: list[ledger.Pending] = []
    for n, step in enumerate(steps):
        kind, key = step[0], f"{prefix}-{n}"
        if kind in ("deposit", "withdraw", "between"):
            if kind == "deposit":
                debit, credit, amount = model.psp, model.wallets[step[1]], step[2]
            elif kind == "withdraw":
                debit, credit, amount = model.wallets[step[1]], model.psp, step[2]
            else:
                debit, credit, amount = model.wallets[step[1]], model.wallets[step[2]], step[3]
                if debit == credit:
                    continue
            transfer = move(key, "EUR", kind if kind == "deposit" else "withdrawal", debit,
                            credit, amount)  # fmt: skip
            allowed = debit == model.psp or model.available(debit) >= amount
            try:
                [posted] = ledger.post(conn, [transfer])
            except ledger.InsufficientFunds:
                assert not allowed, (step, model.available(debit))
                continue
            assert allowed, step
            assert not posted.replayed, step
            model.moved(debit, credit, amount)
            done.append(("transfer", transfer, posted))
        elif kind == "reserve":
            debit, amount = model.wallets[step[1]], step[2]
            credit = model.wallets[step[4]] if step[4] < WALLETS else model.psp
            if credit == debit:
                continue
            hold = Hold(key, "EUR", "withdrawal", debit, credit, amount,
                        clock + timedelta(seconds=step[3]))  # fmt: skip
            allowed = model.available(debit) >= amount
            try:
                pending = ledger.reserve(conn, hold)
            except ledger.InsufficientFunds:
                assert not allowed, step
                continue
            assert allowed, step
            model.holds[pending.id] = (debit, credit, amount, hold.expires_at)
            pendings.append(pending)
            done.append(("reserve", hold, pending))
        elif kind in ("post", "void") and pendings:
            pending = pendings[step[1] % len(pendings)]
            is_open = pending.id in model.holds
            expired = is_open and model.holds[pending.id][3] <= clock
            try:
                if kind == "post":
                    part = (pending.amount * step[2] / 100).quantize(D("0.01"))
                    part = max(part, D("0.01"))
                    result = ledger.post_pending(conn, pending.id, part, now=clock)
                else:
                    result = ledger.void_pending(conn, pending.id)
            except ledger.PendingClosed:
                assert not is_open or (kind == "post" and expired), (step, pending)
                if is_open:
                    del model.holds[pending.id]  # recorded as expired by the refused post
                continue
            if result.replayed:
                assert not is_open
                continue
            assert is_open
            assert not expired
            debit, credit, _, _ = model.holds.pop(pending.id)
            if kind == "post":
                model.moved(debit, credit, part)
            if kind == "post":
                done.append(("post_pending", (pending.id, part), result))
            else:
                done.append(("void", (pending.id, None), result))
        elif kind == "timeout":
            clock += timedelta(seconds=step[1])
            # the sweep is the whole ledger's: earlier sequences' holds may expire with these
            ours = {p.id for p in pendings}
            released = set(ledger.expire_pending(conn, clock)) & ours
            due = {i for i, (_, _, _, expires) in model.holds.items() if expires <= clock}
            assert released == due
            for i in due:
                del model.holds[i]
        elif kind == "retry" and done:
            what, argument, first = done[step[1] % len(done)]
            before = {a: entries_sum(conn, a) for a in model.wallets}
            if what == "transfer":
                [again] = ledger.post(conn, [argument])
                assert (again.transfer_id, again.replayed) == (first.transfer_id, True)
            elif what == "reserve":
                again_held = ledger.reserve(conn, argument)
                assert (again_held.id, again_held.replayed) == (first.id, True)
            elif what == "post_pending":
                assert ledger.post_pending(conn, argument[0], argument[1], now=clock).replayed
            else:
                assert ledger.void_pending(conn, argument[0]).replayed
            assert {a: entries_sum(conn, a) for a in model.wallets} == before


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(operation, min_size=1, max_size=40))
def test_random_sequences_keep_the_ledger_balanced_and_wallets_above_zero(
    conn: psycopg.Connection[Any], steps: list[tuple[Any, ...]]
) -> None:
    model = Model(
        [wallet(conn) for _ in range(WALLETS)], broker(conn, "demo:psp_clearing:stub-psp:EUR")
    )
    for account in model.wallets:
        model.balances[account] = D(0)
    run(conn, model, steps)
    for account in model.wallets:
        assert entries_sum(conn, account) == model.balances[account]
        assert ledger.available(conn, account) == model.available(account) >= 0
        incoming = sum((a for _, c, a, _ in model.holds.values() if c == account), D(0))
        assert stored(conn, account)[2] == incoming
    report = ledger.check(conn)
    assert report.ok, report
