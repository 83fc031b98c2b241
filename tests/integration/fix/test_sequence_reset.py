"""`brokerstack fix reset-sequence` against the running execution service, which owns the
sessions: the numbers change in its live session, each use is in the tamper-evident audit log
with who, why, before and after, and a request nobody carries out changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import quickfix as fix

from execution.lpsim.behaviour import Behaviour
from execution.lpsim.simulator import LpSimulator
from tests.integration.execution.support import ROOT, start_service, stop_service
from tests.integration.fix.conftest import configure_lps, wait_for


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERSTACK_")}
    env["BROKERSTACK_DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "brokerstack", "fix", "reset-sequence", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]


def _rows(db_url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def service_with_lp(
    seeded_db_url: str, redis_url: str, tmp_path: Path, simulators: list[LpSimulator]
) -> Iterator[LpSimulator]:
    """The execution service process connected over FIX to one simulated LP."""
    with psycopg.connect(seeded_db_url) as conn:
        lps = configure_lps(conn, ["lp-alpha"], tmp_path)
        conn.execute("UPDATE lps SET enabled = false WHERE code <> 'lp-alpha'")
        conn.commit()
    sim = lps["lp-alpha"].simulator(Behaviour())
    sim.start()
    simulators.append(sim)
    log = tmp_path / "service.log"
    service = start_service(
        seeded_db_url, redis_url, log,
        BROKERSTACK_EXECUTION_LPS="fix", BROKERSTACK_DATA_DIR=str(tmp_path / "data"),
    )  # fmt: skip
    try:
        assert wait_for(sim.logged_on, 30), log.read_text()
        yield sim
    finally:
        assert stop_service(service) == 0, log.read_text()


def _sim_trade_session(sim: LpSimulator) -> Any:
    return fix.Session.lookupSession(sim.trade_sid)


def test_setting_the_next_sequence_number_changes_the_live_session_and_is_audited(
    service_with_lp: LpSimulator, seeded_db_url: str
) -> None:
    sim = service_with_lp
    result = _cli(
        seeded_db_url, "lp-alpha", "trade", "--operator", "alice@broker.example",
        "--reason", "LP restored its engine from a backup", "--next-sender", "500",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "500" in result.stdout

    # the next message the LP gets from us is numbered 500: it asks for the gap, gets a gap
    # fill, and the session goes on
    assert wait_for(lambda: _sim_trade_session(sim).getExpectedTargetNum() > 500, 40)
    assert sim.logged_on()
    [(actor_type, actor, action, entity, before, after)] = _rows(
        seeded_db_url,
        "SELECT actor_type, actor_id, action, entity_id, before, after FROM audit_log "
        "WHERE action = 'fix.sequence_reset'",
    )
    assert (actor_type, actor, action, entity) == (
        "staff", "alice@broker.example", "fix.sequence_reset", "lp-alpha/trade"
    )  # fmt: skip
    assert after["next_sender"] == 500
    assert after["next_target"] == before["next_target"]
    assert before["next_sender"] < 500
    assert after["reason"] == "LP restored its engine from a backup"
    assert _rows(seeded_db_url, "SELECT audit_log_first_broken()") == [(None,)]
    assert _rows(seeded_db_url, "SELECT state FROM lp_session_resets") == [("done",)]


def test_a_full_reset_logs_on_again_with_reset_seq_num_flag(
    service_with_lp: LpSimulator, seeded_db_url: str
) -> None:
    sim = service_with_lp
    logons = len(sim.received.logons)
    result = _cli(
        seeded_db_url, "lp-alpha", "trade", "--operator", "bob", "--reason", "agreed with LP"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ResetSeqNumFlag" in result.stdout

    def reset_logon() -> bool:
        return any(
            logon.get(141) == "Y" and logon.get(49) == "BROKERSTACK_T"
            for logon in sim.received.logons[logons:]
        )

    assert wait_for(reset_logon, 20)
    assert wait_for(sim.logged_on, 20)
    assert _sim_trade_session(sim).getExpectedTargetNum() < 10  # counting from 1 again
    [(before, after)] = _rows(
        seeded_db_url, "SELECT before, after FROM audit_log WHERE actor_id = 'bob'"
    )
    assert after["next_sender"] == after["next_target"] == 1
    assert before["next_sender"] > 1


def test_bad_requests_and_requests_nobody_carries_out_change_nothing(
    seeded_db_url: str,
) -> None:
    _one_line_error(
        _cli(seeded_db_url, "lp-nowhere", "trade", "--operator", "a", "--reason", "r"),
        "LP 'lp-nowhere' has no trade session",
    )
    _one_line_error(
        _cli(seeded_db_url, "lp-alpha", "trade", "--operator", " ", "--reason", "r"),
        "needs the operator",
    )
    # no execution service runs: the request expires, and is never carried out later
    _one_line_error(
        _cli(seeded_db_url, "lp-alpha", "trade", "--operator", "a", "--reason", "r",
             "--timeout", "1"),
        "nothing was changed",
    )  # fmt: skip
    assert _rows(seeded_db_url, "SELECT state FROM lp_session_resets") == [("expired",)]
    assert _rows(seeded_db_url, "SELECT count(*) FROM audit_log") == [(0,)]
