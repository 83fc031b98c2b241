"""``brokerstack run lp-simulator`` as its own process, traded with over FIX by the bridge: its
metrics count the quotes it streams and the orders it answered."""

from __future__ import annotations

import subprocess
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from brokerstack.services.ports import free_port
from brokerstack.supervisor import brokerstack_run
from execution import contracts as c
from execution.lpsim.behaviour import Behaviour, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import SYMBOLS, StackFactory, start
from tests.integration.ops import ops_url, scrape, scrape_until, wait_ready

ORDERS = 3


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(20)


def test_the_simulator_counts_its_quotes_and_the_orders_it_filled(
    processes: list[subprocess.Popen[bytes]],  # first: stopped after the bridge
    stack_factory: StackFactory,
    tmp_path: Path,
) -> None:
    stack = stack_factory(["lp-alpha"])
    lp = stack.lps["lp-alpha"]
    port = free_port()
    url = ops_url(port)
    argv = brokerstack_run(
        "lp-simulator", "--name", "lp-alpha", "--quote-port", str(lp.quote_port),
        "--trade-port", str(lp.trade_port), "--ops-port", str(port),
        "--data", str(tmp_path / "lpsim"),
    )  # fmt: skip
    processes.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
    wait_ready(url, processes[0])
    assert scrape(url).get("brokerstack_lpsim_quotes_total", lp="lp-alpha") == 0
    stack.journal.start()
    stack.bridge.start()
    trading = stack.trading
    assert trading.pump(
        lambda: (
            trading.connected.get("lp-alpha", False)
            and all(trading.core.ctx.pricing.raw.get(s.symbol) for s in SYMBOLS)
        )
    ), "the simulator did not connect and quote"

    placed = [trading.place("EURUSD", "buy", "0.1") for _ in range(ORDERS)]
    ids = [r.order_id for r in placed if isinstance(r, c.Accepted) and r.order_id is not None]
    assert len(ids) == ORDERS
    assert trading.pump(lambda: all(trading.final_state(i) is not None for i in ids))
    first = scrape(url)
    later = scrape_until(
        url,
        lambda m: (
            (m.get("brokerstack_lpsim_quotes_total", lp="lp-alpha") or 0)
            > first.value("brokerstack_lpsim_quotes_total", lp="lp-alpha")
        ),
    )

    finals = [trading.final_state(i) for i in ids]
    assert [f.state if f else None for f in finals] == [c.OrderState.FILLED] * ORDERS
    answered = {
        (labels["lp"], labels["outcome"]): later.value("brokerstack_lpsim_orders_total", **labels)
        for labels in later.labels("brokerstack_lpsim_orders_total")
    }
    assert answered == {("lp-alpha", "filled"): ORDERS}
    # it quoted both symbols before the bridge could price them, and keeps quoting
    assert first.value("brokerstack_lpsim_quotes_total", lp="lp-alpha") >= len(SYMBOLS)
    assert later.help["brokerstack_lpsim_quotes"]
    assert later.help["brokerstack_lpsim_orders"]


def _answered(outcome: str) -> float:
    labels = {"lp": "lp-alpha", "outcome": outcome}
    return REGISTRY.get_sample_value("brokerstack_lpsim_orders_total", labels) or 0.0


def test_each_way_of_answering_an_order_is_counted_as_its_own_outcome(
    stack_factory: StackFactory, simulators: list[LpSimulator]
) -> None:
    plan = [Outcome.FILL, Outcome.PARTIAL, Outcome.REJECT, Outcome.LAST_LOOK]
    stack = stack_factory(["lp-alpha"])
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque(plan)))
    start(stack, [sim], simulators)
    outcomes = ["filled", "partially_filled", "rejected", "last_look", "canceled", "invalid"]
    before = {outcome: _answered(outcome) for outcome in outcomes}
    trading = stack.trading

    for _ in plan:  # one at a time: each order meets the next outcome of the plan
        reply = trading.place("EURUSD", "buy", "0.1")
        assert isinstance(reply, c.Accepted)
        order_id = reply.order_id
        assert order_id is not None
        assert trading.pump(lambda: trading.final_state(order_id) is not None)  # noqa: B023

    counted = {outcome: _answered(outcome) - before[outcome] for outcome in outcomes}
    assert counted == {
        "filled": 1, "partially_filled": 1, "rejected": 1, "last_look": 1, "canceled": 0,
        "invalid": 0,
    }  # fmt: skip
