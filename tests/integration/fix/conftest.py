"""Real FIX sessions on loopback: simulated LPs (quickfix acceptors) on free ports, the bridge
(quickfix initiators) configured from a seeded warehouse, and the minimal service loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import psycopg
import pytest

from brokerstack.services.ports import free_port
from execution.fix import FixBridge, LpHealth, Recovering, WarehouseJournal, load_lps
from execution.fix.config import LpConfig
from execution.inbox import Inbox
from execution.lpsim.behaviour import Behaviour
from execution.lpsim.feeds import RandomWalk, SymbolSpec
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.harness import Trading, a_book_core

SYMBOLS = [SymbolSpec("EURUSD", 5, D("1.08500")), SymbolSpec("XAUUSD", 2, D("2350.00"))]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@dataclass
class Lp:
    name: str
    quote_port: int
    trade_port: int
    store: Path

    def simulator(self, behaviour: Behaviour, steady: bool = False) -> LpSimulator:
        """``steady``: the mid never moves (tests that compare LPs' prices)."""
        feed = RandomWalk(SYMBOLS, step=0) if steady else None
        return LpSimulator(
            self.name, self.quote_port, self.trade_port, self.store, SYMBOLS, behaviour, feed
        )


def configure_lps(conn: psycopg.Connection[Any], names: list[str], tmp: Path) -> dict[str, Lp]:
    """Point the seeded LPs' sessions at free ports, reconnecting every second, and limit
    their symbols to the simulated ones."""
    lps: dict[str, Lp] = {}
    for name in names:
        lp = Lp(name, free_port(), free_port(), tmp / "lp" / name)
        for role, port in (("quote", lp.quote_port), ("trade", lp.trade_port)):
            conn.execute(
                "UPDATE lp_sessions SET port = %s, reconnect_seconds = 1 "
                "WHERE role = %s AND lp_id = (SELECT id FROM lps WHERE code = %s)",
                (port, role, name),
            )
        lps[name] = lp
    conn.execute(
        "DELETE FROM lp_symbols WHERE instrument_id NOT IN "
        "(SELECT id FROM instruments WHERE symbol IN ('EURUSD', 'XAUUSD'))"
    )
    conn.commit()
    return lps


def make_account(conn: psycopg.Connection[Any]) -> int:
    """A client and a live USD trading account for the deals to belong to."""
    brand = conn.execute("SELECT id FROM brands LIMIT 1").fetchone()
    group = conn.execute(
        "SELECT id, account_kind, deposit_currency FROM account_groups "
        "WHERE account_kind = 'live' AND deposit_currency = 'USD' LIMIT 1"
    ).fetchone()
    assert brand is not None
    assert group is not None
    client = conn.execute(
        "INSERT INTO clients (brand_id, email, first_name, last_name, country) "
        "VALUES (%s, 'fix@example.com', 'Fix', 'Tester', 'DE') RETURNING id",
        (brand[0],),
    ).fetchone()
    assert client is not None
    account = conn.execute(
        "INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency) "
        "VALUES (700001, %s, %s, %s, %s) RETURNING id",
        (client[0], *group),
    ).fetchone()
    assert account is not None
    conn.commit()
    return int(account[0])


@dataclass
class Stack:
    """Everything one test runs: the LPs, the bridge and the loop over the core."""

    conn: psycopg.Connection[Any]
    db_url: str
    lps: dict[str, Lp]
    configs: list[LpConfig]
    store: Path
    inbox: Inbox
    health: LpHealth
    journal: WarehouseJournal
    bridge: FixBridge
    trading: Trading

    def stop_bridge(self) -> None:
        self.bridge.stop()
        self.journal.stop()

    def start_new_bridge(self, recovering: list[Recovering]) -> None:
        """A new bridge on the same FIX store, as after a restart of the service."""
        self.inbox = Inbox()
        self.health = LpHealth()
        self.journal = _journal(self.db_url, self.inbox, self.health, self.configs)
        self.bridge = FixBridge(
            self.configs, self.inbox, self.store, sink=self.journal, health=self.health
        )
        self.bridge.recover(recovering)
        self.journal.start()
        self.bridge.start()
        self.trading.inbox = self.inbox
        self.trading.bridge = self.bridge


def _journal(url: str, inbox: Inbox, health: LpHealth, configs: list[LpConfig]) -> WarehouseJournal:
    ids = {c.code: c.lp_id for c in configs}
    return WarehouseJournal(url, inbox, health, ids, health_period=0.5)


@pytest.fixture
def simulators() -> Iterator[list[LpSimulator]]:
    """Simulators started by a test; stopped after the bridge (a quickfix acceptor stopping
    while its client reconnects can crash the process)."""
    started: list[LpSimulator] = []
    yield started
    for sim in started:
        sim.stop()


@pytest.fixture
def stack_factory(
    seeded_db_url: str, tmp_path: Path, simulators: list[LpSimulator]
) -> Iterator[Callable[[list[str]], Stack]]:
    conn = psycopg.connect(seeded_db_url)
    stacks: list[Stack] = []

    def build(names: list[str]) -> Stack:
        lps = configure_lps(conn, names, tmp_path)
        configs = load_lps(conn, set(names))
        inbox = Inbox()
        health = LpHealth()
        journal = _journal(seeded_db_url, inbox, health, configs)
        store = tmp_path / "fix"
        bridge = FixBridge(configs, inbox, store, sink=journal, health=health)
        trading = Trading(a_book_core(), inbox, bridge, conn, make_account(conn))
        stack = Stack(conn, seeded_db_url, lps, configs, store, inbox, health, journal, bridge,
                      trading)  # fmt: skip
        stacks.append(stack)
        return stack

    yield build
    for stack in stacks:
        stack.bridge.stop()
        stack.journal.stop()
    conn.close()


def start(stack: Stack, sims: list[LpSimulator], running: list[LpSimulator]) -> None:
    for sim in sims:
        sim.start()
        running.append(sim)
    stack.journal.start()
    stack.bridge.start()
    names = [sim.name for sim in sims]
    assert stack.trading.pump(
        lambda: (
            all(stack.trading.connected.get(n) for n in names)
            and all(stack.trading.core.ctx.pricing.raw.get(s.symbol) for s in SYMBOLS)
        )
    ), "LPs did not connect and quote"
