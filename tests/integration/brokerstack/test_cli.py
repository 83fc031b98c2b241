"""The command line as an operator meets it: one-line errors, and `up` bringing the stack up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from brokerstack.services.ports import free_port, port_is_free


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERSTACK_")}
    env["BROKERSTACK_DATA_DIR"] = str(tmp_path / "data")
    env["BROKERSTACK_POSTGRES_PORT"] = str(free_port())
    env["BROKERSTACK_REDIS_PORT"] = str(free_port())
    env.update(overrides)
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brokerstack", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_malformed_setting_is_one_line_and_non_zero(tmp_path: Path) -> None:
    env = _env(tmp_path, BROKERSTACK_REDIS_PORT="lots")
    _assert_one_line_error(_cli(["status"], env, tmp_path), "BROKERSTACK_REDIS_PORT")


def test_unreachable_database_url_is_one_line_and_non_zero(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = _env(tmp_path, BROKERSTACK_DATABASE_URL=f"postgresql://broker@127.0.0.1:{port}/bs")
    _assert_one_line_error(_cli(["migrate"], env, tmp_path), "cannot reach the database", str(port))


def test_port_in_use_is_one_line_and_non_zero(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["BROKERSTACK_POSTGRES_PORT"])))
        squatter.listen()
        result = _cli(["seed"], env, tmp_path)
    _assert_one_line_error(result, "already in use", env["BROKERSTACK_POSTGRES_PORT"])


def test_migrate_against_a_configured_server_starts_nothing(
    tmp_path: Path, empty_db_url: str
) -> None:
    env = _env(tmp_path, BROKERSTACK_DATABASE_URL=empty_db_url)
    result = _cli(["migrate"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data" / "postgres").exists()
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None


def _up(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "brokerstack", "up"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    env = _env(tmp_path)
    process = _up(env, tmp_path)
    try:
        yield process, env
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not printed; output so far:\n{''.join(seen)}")


def test_up_serves_a_migrated_seeded_stack_and_stops_cleanly_on_ctrl_c(
    stack: tuple[subprocess.Popen[str], dict[str, str]], tmp_path: Path
) -> None:
    process, env = stack
    output = _read_until(process, "press Ctrl-C to stop", timeout=240)
    pg_port, redis_port = env["BROKERSTACK_POSTGRES_PORT"], env["BROKERSTACK_REDIS_PORT"]
    assert f"127.0.0.1:{pg_port}" in output
    assert f"127.0.0.1:{redis_port}" in output

    database_url = f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
    with psycopg.connect(database_url) as conn:
        instruments = conn.execute("SELECT count(*) FROM instruments").fetchone()
        conn.execute("CREATE TABLE survives_restart (x int)")
        conn.execute("INSERT INTO survives_restart VALUES (42)")
    assert instruments is not None
    assert instruments[0] > 0
    client = redis.Redis(port=int(redis_port))
    client.xadd("survives", {"k": "v"})
    # The execution service prices from the two simulated LPs over FIX and publishes them.
    deadline = time.monotonic() + 60
    while not client.hexists("quotes:last", "demo-usd:BTCUSD") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.hexists("quotes:last", "demo-usd:BTCUSD")

    status = _cli(["status"], env, tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=90) == 0
    assert port_is_free("127.0.0.1", int(pg_port))
    assert port_is_free("127.0.0.1", int(redis_port))
    stopped = _cli(["status"], env, tmp_path)
    assert stopped.returncode == 1
    assert "not running" in stopped.stdout

    # Data survives a restart of the embedded servers.
    again = _up(env, tmp_path)
    try:
        _read_until(again, "press Ctrl-C to stop", timeout=240)
        with psycopg.connect(database_url) as conn:
            kept = conn.execute("SELECT x FROM survives_restart").fetchone()
        assert kept == (42,)
        assert redis.Redis(port=int(redis_port)).xlen("survives") == 1
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=90) == 0
    finally:
        if again.poll() is None:
            again.kill()
            again.wait()


def test_seed_before_migrate_says_what_to_do(tmp_path: Path, empty_db_url: str) -> None:
    env = _env(tmp_path, BROKERSTACK_DATABASE_URL=empty_db_url)
    _assert_one_line_error(_cli(["seed"], env, tmp_path), "brokerstack migrate")


def test_unknown_revision_is_one_line(tmp_path: Path, empty_db_url: str) -> None:
    env = _env(tmp_path, BROKERSTACK_DATABASE_URL=empty_db_url)
    _assert_one_line_error(_cli(["migrate", "no-such-revision"], env, tmp_path), "no-such-revision")


def test_migrate_down_and_up_through_the_cli(tmp_path: Path, empty_db_url: str) -> None:
    env = _env(tmp_path, BROKERSTACK_DATABASE_URL=empty_db_url)
    assert _cli(["migrate"], env, tmp_path).returncode == 0
    assert _cli(["seed"], env, tmp_path).returncode == 0
    down = _cli(["migrate", "base", "--down"], env, tmp_path)
    assert down.returncode == 0, down.stderr
    assert "revision base" in down.stdout
    with psycopg.connect(empty_db_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).fetchone()
    assert tables == (0,)
