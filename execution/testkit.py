"""A desk to drive the core by hand: a clock, in-process LPs wired to the core, and short
helpers for commands. Used by the tests, the benchmark and demos (never by the service)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from brokerstack.times import NS_PER_SECOND, to_ns
from execution import contracts as c
from execution.core import Core, CoreConfig
from execution.lp import InProcessLp
from execution.records import Outcome
from execution.samples import instruments, retail_group

D = Decimal
T = TypeVar("T")
# Wednesday 2026-03-04 12:00 UTC: the FX market is open
START = to_ns(datetime(2026, 3, 4, 12, tzinfo=UTC))


def sample_core(**overrides: object) -> Core:
    settings: dict[str, object] = {
        "instruments": instruments(),
        "groups": [
            retail_group(),
            retail_group("pro-usd", leverage=100, negative_balance_protection=False),
        ],
    }
    settings.update(overrides)
    return Core(CoreConfig(**settings))  # type: ignore[arg-type]


class Desk:
    def __init__(self, core: Core, now: int = START, lps: tuple[str, ...] = ("lp1",)) -> None:
        self.core = core
        self.now = now
        self.lps = {name: InProcessLp(name) for name in lps}
        self._request = 0

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * NS_PER_SECOND)

    def at(self, when: datetime) -> None:
        self.now = to_ns(when)

    def quote(self, symbol: str, bid: str, ask: str, lp: str = "lp1") -> Outcome:
        instrument = self.core.ctx.instruments[symbol]
        self.lps[lp].quote(symbol, D(bid), D(ask))
        bid_points, ask_points = instrument.to_points(D(bid)), instrument.to_points(D(ask))
        assert bid_points is not None
        assert ask_points is not None
        return self.pump(self.core.on_quote(lp, symbol, bid_points, ask_points, self.now))

    def send(self, command: c.Command) -> Outcome:
        return self.pump(self.core.handle(command, self.now))

    def timer(self) -> Outcome:
        return self.pump(self.core.on_timer(self.now))

    def pump(self, outcome: Outcome) -> Outcome:
        """Hand the outcome's LP orders to the in-process LPs and feed back their reports."""
        pending = list(outcome.lp_orders)
        while pending:
            order = pending.pop(0)
            lp = self.lps[order.lp]
            lp.send(order)
            for report in lp.drain():
                more = self.core.on_lp_report(report, self.now)
                outcome.extend(more)
                pending.extend(more.lp_orders)
        return outcome

    def request_id(self) -> str:
        self._request += 1
        return f"r{self._request}"

    def place(self, account: int, symbol: str, side: str, lots: str, **fields: object) -> Outcome:
        command = c.PlaceOrder(
            request_id=self.request_id(),
            account_id=account,
            symbol=symbol,
            side=c.Side(side),
            volume=D(lots),
            **fields,  # type: ignore[arg-type]
        )
        return self.send(command)

    def close(self, account: int, position_id: int, lots: str | None = None) -> Outcome:
        volume = None if lots is None else D(lots)
        return self.send(
            c.ClosePosition(
                request_id=self.request_id(),
                account_id=account,
                position_id=position_id,
                volume=volume,
            )
        )

    def deposit(self, account: int, amount: str, wallet: str = "w1") -> Outcome:
        return self.send(
            c.BalanceOperation(
                request_id=self.request_id(),
                account_id=account,
                kind=c.BalanceKind.DEPOSIT,
                amount=D(amount),
                wallet_id=wallet,
            )
        )


def reply(outcome: Outcome) -> c.Reply:
    assert len(outcome.replies) == 1, outcome.replies
    return outcome.replies[0]


def accepted(outcome: Outcome) -> c.Accepted:
    answer = reply(outcome)
    assert isinstance(answer, c.Accepted), answer
    return answer


def rejected(outcome: Outcome) -> c.RejectCode:
    answer = reply(outcome)
    assert isinstance(answer, c.Rejected), answer
    return answer.code


def of_type(outcome: Outcome, kind: type[T]) -> list[T]:
    return [e for e in outcome.events if isinstance(e, kind)]
