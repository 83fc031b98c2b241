"""LP session settings from ``lp_sessions``: the Logon username and password, TLS (really
negotiated, and verified against the configured CA), and exponential reconnect backoff."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from execution import contracts as c
from execution.fix import FixBridge, load_lps, wire
from execution.fix.config import LpConfigError
from execution.inbox import Inbox, LpQuote
from execution.lpsim.behaviour import Behaviour, Outcome
from execution.lpsim.simulator import LpSimulator
from tests.integration.fix.conftest import (
    Lp,
    StackFactory,
    configure_lps,
    set_sessions,
    start,
    wait_for,
)
from tests.integration.fix.tls import TlsRelay, certificate


@pytest.fixture
def conn(seeded_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(seeded_db_url) as conn:
        yield conn


@pytest.fixture
def bridges() -> Iterator[list[FixBridge]]:
    started: list[FixBridge] = []
    yield started
    for bridge in started:
        bridge.stop()


def _bridge(
    conn: psycopg.Connection[Any], store: Path, started: list[FixBridge]
) -> tuple[FixBridge, Inbox]:
    """A bridge to lp-alpha as lp_sessions now say, started (reports go straight to the
    inbox: these tests are about sessions)."""
    inbox = Inbox()
    bridge = FixBridge(load_lps(conn, {"lp-alpha"}), inbox, store)
    bridge.start()
    started.append(bridge)
    return bridge, inbox


def _quoted(inbox: Inbox) -> bool:
    return any(isinstance(item, LpQuote) for item in inbox.take(0.2, 1000))


def _trade_logons(sim: LpSimulator) -> list[tuple[float, dict[int, str]]]:
    return [
        (at, logon)
        for at, logon in zip(sim.received.logon_times, sim.received.logons, strict=True)
        if logon.get(49) == "BROKERSTACK_T"
    ]


def test_logon_carries_the_configured_username_and_password(
    stack_factory: StackFactory,
    simulators: list[LpSimulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_LP_ALPHA_PASSWORD", "s3cret")
    stack = stack_factory(
        ["lp-alpha"], username="broker-7", credentials_ref="env:TEST_LP_ALPHA_PASSWORD"
    )
    sim = stack.lps["lp-alpha"].simulator(Behaviour(username="broker-7", password="s3cret"))
    start(stack, [sim], simulators)  # the LP accepts both sessions ...
    reply = stack.trading.place("EURUSD", "buy", "0.1")  # ... and trades on them
    assert isinstance(reply, c.Accepted)
    assert stack.trading.pump(lambda: stack.trading.final_state(reply.order_id or 0) is not None)
    [(_, logon), *_] = _trade_logons(sim)
    assert (logon[wire.USERNAME], logon[wire.PASSWORD]) == ("broker-7", "s3cret")


def test_a_session_without_the_lps_username_is_refused(
    conn: psycopg.Connection[Any], tmp_path: Path, simulators: list[LpSimulator],
    bridges: list[FixBridge],
) -> None:  # fmt: skip
    lp = configure_lps(conn, ["lp-alpha"], tmp_path)["lp-alpha"]
    sim = lp.simulator(Behaviour(username="broker-7"))
    sim.start()
    simulators.append(sim)
    bridge, _ = _bridge(conn, tmp_path / "fix", bridges)
    assert wait_for(lambda: bool(_trade_logons(sim)))
    time.sleep(0.5)
    assert not bridge.connected("lp-alpha")
    # no username configured: our SenderCompID, as before this setting existed
    assert _trade_logons(sim)[0][1][wire.USERNAME] == "BROKERSTACK_T"


def _tls_sessions(conn: psycopg.Connection[Any], ca_file: Path) -> None:
    set_sessions(conn, "lp-alpha", {"tls": True, "tls_ca_file": str(ca_file)})


def test_tls_to_an_lp_that_accepts_tls_only(
    stack_factory: StackFactory, simulators: list[LpSimulator], tmp_path: Path
) -> None:
    cert, key = certificate(tmp_path / "certs", "lp-alpha")
    stack = stack_factory(["lp-alpha"], tls=True, tls_ca_file=str(cert))
    sim = stack.lps["lp-alpha"].simulator(Behaviour(plan=deque([Outcome.FILL])),
                                          certificate=(cert, key))  # fmt: skip
    start(stack, [sim], simulators)
    reply = stack.trading.place("EURUSD", "sell", "0.2")
    assert isinstance(reply, c.Accepted)
    assert stack.trading.pump(lambda: stack.trading.final_state(reply.order_id or 0) is not None)
    final = stack.trading.final_state(reply.order_id or 0)
    assert final is not None
    assert final.state is c.OrderState.FILLED


def test_the_bridge_negotiates_tls_and_speaks_fix_inside_it(
    conn: psycopg.Connection[Any], tmp_path: Path, simulators: list[LpSimulator],
    bridges: list[FixBridge],
) -> None:  # fmt: skip
    cert, key = certificate(tmp_path / "certs", "lp-alpha")
    lp = configure_lps(conn, ["lp-alpha"], tmp_path)["lp-alpha"]
    sim = lp.simulator(Behaviour())  # plain: the relay in front of it ends TLS
    sim.start()
    simulators.append(sim)
    relays = [TlsRelay(cert, key, lp.quote_port), TlsRelay(cert, key, lp.trade_port)]
    try:
        for role, relay in zip(("quote", "trade"), relays, strict=True):
            set_sessions(conn, "lp-alpha", {"port": relay.port}, role)
        _tls_sessions(conn, cert)
        bridge, inbox = _bridge(conn, tmp_path / "fix", bridges)
        assert wait_for(lambda: bridge.connected("lp-alpha"))
        assert wait_for(lambda: _quoted(inbox))
    finally:
        for relay in relays:
            relay.close()
    for relay in relays:
        [seen, *_] = relay.seen
        assert seen.version in ("TLSv1.2", "TLSv1.3")
        assert seen.first_bytes.startswith(b"8=FIX.4.4\x01")  # the Logon, inside TLS
        assert b"35=A\x01" in seen.first_bytes


def test_an_lp_certificate_the_configured_ca_did_not_sign_is_refused(
    conn: psycopg.Connection[Any], tmp_path: Path, simulators: list[LpSimulator],
    bridges: list[FixBridge],
) -> None:  # fmt: skip
    cert, key = certificate(tmp_path / "certs", "lp-alpha")
    stranger, _ = certificate(tmp_path / "certs", "someone-else")
    lp = configure_lps(conn, ["lp-alpha"], tmp_path)["lp-alpha"]
    sim = lp.simulator(Behaviour(), certificate=(cert, key))
    sim.start()
    simulators.append(sim)
    _tls_sessions(conn, stranger)
    bridge, _ = _bridge(conn, tmp_path / "fix", bridges)
    time.sleep(3)
    assert not bridge.connected("lp-alpha")
    assert sim.received.logons == []  # not even a Logon: the handshake failed first


def test_tls_settings_that_cannot_work_are_refused_with_the_session_named(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    configure_lps(conn, ["lp-alpha"], tmp_path)
    with pytest.raises(psycopg.errors.CheckViolation, match="lp_sessions_tls_verified"):
        set_sessions(conn, "lp-alpha", {"tls": True})  # TLS never runs unverified
    conn.rollback()
    _tls_sessions(conn, tmp_path / "missing-ca.pem")
    with pytest.raises(LpConfigError, match=r"lp-alpha quote session: TLS file .* cannot be read"):
        load_lps(conn, {"lp-alpha"})


def test_reconnects_back_off_exponentially_while_the_lp_refuses_logons(
    conn: psycopg.Connection[Any], tmp_path: Path, simulators: list[LpSimulator],
    bridges: list[FixBridge],
) -> None:  # fmt: skip
    lp: Lp = configure_lps(conn, ["lp-alpha"], tmp_path)["lp-alpha"]
    set_sessions(conn, "lp-alpha", {"reconnect_seconds": 1, "reconnect_max_seconds": 4})
    sim = lp.simulator(Behaviour(down=True))
    sim.start()
    simulators.append(sim)
    bridge, _ = _bridge(conn, tmp_path / "fix", bridges)

    assert wait_for(lambda: len(_trade_logons(sim)) >= 5, 20)
    times = [at for at, _ in _trade_logons(sim)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # after the 1st, 2nd, 3rd, 4th refusal: steps of 1, 2, 4, 4 s, each at least half taken
    for gap, step in zip(gaps, [1, 2, 4, 4], strict=False):
        assert gap >= step / 2 - 0.05, gaps
    assert gaps[2] > gaps[0]  # a fixed interval would not grow

    sim.behaviour.down = False
    assert wait_for(lambda: bridge.connected("lp-alpha"), 10)
