"""The command line as an operator meets it: one-line errors, and `up` bringing the stack up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from brokerstack.services.ports import free_port, port_is_free


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A folder for one test's stack, outside pytest's basetemp: other test sessions on this
    machine prune old basetemps, which would pull the data folder from under the stack."""
    with tempfile.TemporaryDirectory(prefix="brokerstack-cli-") as folder:
        yield Path(folder)


# the back office's worker and stand-ins (mail sink, SMS, KYC and card PSP simulators)
BACKOFFICE_PORTS = ("WORKER_OPS_PORT", "SMTP_SINK_PORT", "SMTP_SINK_OPS_PORT",
                    "SMS_SIMULATOR_PORT", "SMS_SIMULATOR_OPS_PORT", "KYC_SIMULATOR_PORT",
                    "KYC_SIMULATOR_OPS_PORT", "CARD_PSP_SIMULATOR_PORT",
                    "CARD_PSP_SIMULATOR_OPS_PORT", "EWALLET_PSP_SIMULATOR_PORT",
                    "EWALLET_PSP_SIMULATOR_OPS_PORT", "CRYPTO_PSP_SIMULATOR_PORT",
                    "CRYPTO_PSP_SIMULATOR_OPS_PORT")  # fmt: skip
BACKOFFICE = ("backoffice-worker", "smtp-sink", "sms-simulator", "kyc-simulator",
              "card-psp-simulator", "ewallet-simulator", "crypto-simulator")  # fmt: skip


def _env(workdir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKERSTACK_")}
    env["BROKERSTACK_DATA_DIR"] = str(workdir / "data")
    env["BROKERSTACK_POSTGRES_PORT"] = str(free_port())
    env["BROKERSTACK_REDIS_PORT"] = str(free_port())
    env["BROKERSTACK_API_PORT"] = str(free_port())
    env["BROKERSTACK_API_WORKERS"] = "2"
    env["BROKERSTACK_API_OPS_PORT"] = str(free_port())
    env["BROKERSTACK_EXECUTION_OPS_PORT"] = str(free_port())
    env["BROKERSTACK_INGEST_TICK_WRITER_OPS_PORT"] = str(free_port())
    env["BROKERSTACK_INGEST_EVENT_WRITER_OPS_PORT"] = str(free_port())
    env["BROKERSTACK_LPSIM_OPS_PORT"] = str(free_port(span=2))  # one per simulated LP
    env["BROKERSTACK_DAGSTER_PORT"] = str(free_port())
    for port in BACKOFFICE_PORTS:
        env[f"BROKERSTACK_BACKOFFICE_{port}"] = str(free_port())
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


def test_malformed_setting_is_one_line_and_non_zero(workdir: Path) -> None:
    env = _env(workdir, BROKERSTACK_REDIS_PORT="lots")
    _assert_one_line_error(_cli(["status"], env, workdir), "BROKERSTACK_REDIS_PORT")


def test_unreachable_database_url_is_one_line_and_non_zero(workdir: Path) -> None:
    port = free_port()  # nothing listens there
    env = _env(workdir, BROKERSTACK_DATABASE_URL=f"postgresql://broker@127.0.0.1:{port}/bs")
    _assert_one_line_error(_cli(["migrate"], env, workdir), "cannot reach the database", str(port))


def test_port_in_use_is_one_line_and_non_zero(workdir: Path) -> None:
    env = _env(workdir)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["BROKERSTACK_POSTGRES_PORT"])))
        squatter.listen()
        result = _cli(["seed"], env, workdir)
    _assert_one_line_error(result, "already in use", env["BROKERSTACK_POSTGRES_PORT"])


def test_migrate_against_a_configured_server_starts_nothing(
    workdir: Path, empty_db_url: str
) -> None:
    env = _env(workdir, BROKERSTACK_DATABASE_URL=empty_db_url)
    result = _cli(["migrate"], env, workdir)
    assert result.returncode == 0, result.stderr
    assert not (workdir / "data" / "postgres").exists()
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None


def _up(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    # its own process group, as a shell gives a foreground job: the terminal's Ctrl-C is a
    # SIGINT to every process of that group
    return subprocess.Popen(
        [sys.executable, "-m", "brokerstack", "up"],
        env={**env, "COLUMNS": "250"},  # a table row on one line, as a wide terminal shows it
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _ctrl_c(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGINT)


@pytest.fixture
def stack(workdir: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    env = _env(workdir)
    process = _up(env, workdir)
    try:
        yield process, env
    finally:
        _kill(process)


def _kill(process: subprocess.Popen[str]) -> None:
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


def _rest(process: subprocess.Popen[str], timeout: float = 120) -> str:
    """Everything up prints until it exits."""
    out, _ = process.communicate(timeout=timeout)
    return out


def _status(env: dict[str, str], cwd: Path) -> tuple[int, dict[str, list[str]]]:
    """Exit code of `brokerstack status` and its table rows: processes by name, then LP
    sessions by "lp/session"."""
    result = _cli(["status"], {**env, "COLUMNS": "250"}, cwd)
    rows: dict[str, list[str]] = {}
    sessions = False
    for line in result.stdout.splitlines():
        sessions = sessions or "LP sessions" in line
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if line.startswith("│") and cells[0]:
            rows[f"{cells[0]}/{cells[1]}" if sessions else cells[0]] = cells
    return result.returncode, rows


def _wait_for_status(
    env: dict[str, str], cwd: Path, ok: Callable[[int, dict[str, list[str]]], bool]
) -> dict[str, list[str]]:
    deadline = time.monotonic() + 90
    while True:
        code, rows = _status(env, cwd)
        if ok(code, rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"status never matched; last ({code}): {rows}")
        time.sleep(1)


def _log_tail(workdir: Path, name: str, lines: int = 40) -> str:
    """What a child printed last (its file under the data folder), for a failure's message."""
    logs = sorted((workdir / "data").glob(f"**/logs/{name}.log*"), reverse=True)
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    return "\n".join(text.splitlines()[-lines:])


def _pid(rows: dict[str, list[str]], name: str) -> int:
    return int(rows[name][1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "(Z)" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "(Z)"
    return "(Z)" if stat.rsplit(")", 1)[1].split()[0] == "Z" else ""


def _last_price(client: redis.Redis, symbol: str) -> bytes | None:
    value = client.hget("quotes:last", symbol)
    return value if isinstance(value, bytes) else None


def _prices_move(client: redis.Redis, symbol: str = "demo-usd:BTCUSD") -> None:
    """A new client price is published within a minute (the execution service prices)."""
    before = _last_price(client, symbol)
    deadline = time.monotonic() + 60
    while _last_price(client, symbol) in (None, before):
        assert time.monotonic() < deadline, "no new client price"
        time.sleep(0.2)


@pytest.mark.timeout(900)  # two starts of the whole stack, Dagster's processes included
def test_up_restarts_killed_children_and_ctrl_c_stops_servers_last(
    stack: tuple[subprocess.Popen[str], dict[str, str]], workdir: Path
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
    _prices_move(client)

    parts = ("postgres", "redis", "lp-alpha", "lp-beta", "execution", "api", "tick-writer",
             "event-writer")  # fmt: skip
    rows = _wait_for_status(env, workdir, lambda code, _: code == 0)
    for part in parts:
        assert rows[part][2] == "0", (rows[part], _log_tail(workdir, part))  # restarts
        assert rows[part][5].startswith("answers"), rows[part]
        assert _alive(_pid(rows, part))
    for part in parts[2:]:  # each process but the servers: ready, with a scrape address
        assert rows[part][5].startswith("answers: ready ("), rows[part]
        scrape = httpx.get(rows[part][4], timeout=10)
        assert scrape.status_code == 200, rows[part]
        assert "# HELP " in scrape.text
    sessions = [
        rows[f"{lp}/{role}"] for lp in ("lp-alpha", "lp-beta") for role in ("quote", "trade")
    ]
    assert [s[3] for s in sessions] == ["logged on"] * 4

    # kill -9 single children: each is restarted, the rest of the stack keeps running
    for victim in ("execution", "lp-alpha", "api"):
        killed = _pid(rows, victim)
        os.kill(killed, signal.SIGKILL)

        def restarted(
            code: int, now: dict[str, list[str]], victim: str = victim, killed: int = killed
        ) -> bool:
            return code == 0 and now[victim][2] == "1" and _pid(now, victim) != killed

        rows = _wait_for_status(env, workdir, restarted)
        assert not _alive(killed)
    assert rows["postgres"][2] == rows["redis"][2] == "0"
    _prices_move(client)  # the restarted execution service recovered and prices again
    # the schema is built on its first request: seconds on a busy two-core machine
    with httpx.Client(base_url=f"http://127.0.0.1:{env['BROKERSTACK_API_PORT']}",
                      timeout=60) as api:  # fmt: skip
        assert api.get("/openapi.json").status_code == 200

    _ctrl_c(process)
    rest = _rest(process)
    assert process.returncode == 0, rest
    stopped = [line.split()[1] for line in rest.splitlines() if line.startswith("stopped ")]
    # services first (they commit and publish their last batch), the servers last
    assert stopped[-2:] == ["redis", "postgres"]
    assert stopped.index("execution") < stopped.index("lp-alpha")
    # the pipelines' processes (Dagster's UI and daemon: no ops port of ours) stop first
    assert set(stopped) == {*parts, *BACKOFFICE, "dagster-webserver", "dagster-daemon"}
    assert stopped.index("dagster-daemon") < stopped.index("execution")
    # the terminal's SIGINT did not reach the servers: they were stopped in order
    redis_log = (workdir / "data" / "redis" / "redis.log").read_text()
    assert "Received SIGINT" not in redis_log
    assert "Received SIGTERM" in redis_log
    assert "fast shutdown request" in (workdir / "data" / "logs" / "postgres.log").read_text()
    assert (workdir / "data" / "logs" / "execution.log").read_text().rstrip().endswith("stopped")
    assert port_is_free("127.0.0.1", int(pg_port))
    assert port_is_free("127.0.0.1", int(redis_port))
    code, rows = _status(env, workdir)
    assert code == 1
    assert rows["postgres"][5] == "not running"

    # Data survives a restart of the embedded servers.
    again = _up(env, workdir)
    try:
        _read_until(again, "press Ctrl-C to stop", timeout=240)
        with psycopg.connect(database_url) as conn:
            kept = conn.execute("SELECT x FROM survives_restart").fetchone()
        assert kept == (42,)
        assert redis.Redis(port=int(redis_port)).xlen("survives") == 1
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=90) == 0
    finally:
        _kill(again)


@pytest.mark.timeout(600)  # two starts of the whole stack, Dagster's processes included
def test_killing_up_stops_every_child_and_the_next_up_starts_clean(
    stack: tuple[subprocess.Popen[str], dict[str, str]], workdir: Path
) -> None:
    process, env = stack
    _read_until(process, "press Ctrl-C to stop", timeout=240)
    _, rows = _status(env, workdir)
    pids = {name: _pid(rows, name) for name in ("postgres", "redis", "execution", "api", "lp-beta")}
    ports = [int(env["BROKERSTACK_POSTGRES_PORT"]), int(env["BROKERSTACK_REDIS_PORT"]),
             int(env["BROKERSTACK_API_PORT"]), 9871, 9872, 9873, 9874]  # fmt: skip

    process.kill()  # kill -9 of the supervisor
    process.wait()

    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [name for name, pid in pids.items() if _alive(pid)] == []
    assert [port for port in ports if not port_is_free("127.0.0.1", port)] == []
    code, rows = _status(env, workdir)
    assert code == 1
    assert rows["postgres"][5] == "not running"

    again = _up(env, workdir)
    try:
        output = _read_until(again, "press Ctrl-C to stop", timeout=240)
        assert "already in use" not in output
        _wait_for_status(env, workdir, lambda code, _: code == 0)
        _ctrl_c(again)
        assert again.wait(timeout=90) == 0
    finally:
        _kill(again)


def test_a_child_that_keeps_dying_makes_up_stop_the_stack_and_say_so(
    workdir: Path, seeded_db_url: str
) -> None:
    # the execution service's ops port is taken: it exits at every start, before it is ready
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ops_port = str(taken.getsockname()[1])
        env = _env(
            workdir, BROKERSTACK_DATABASE_URL=seeded_db_url, BROKERSTACK_EXECUTION_OPS_PORT=ops_port
        )
        process = _up(env, workdir)
        try:
            rest = _rest(process, timeout=240)
        finally:
            _kill(process)

    assert process.returncode == 1, rest
    assert rest.count("execution exited with code 1 after") == 4  # restarted 4 times
    assert "execution died 5 times in a row" in rest
    assert "giving up and stopping the stack" in rest
    assert "stopped lp-alpha" in rest
    assert "press Ctrl-C to stop" not in rest  # the stack never came up
    log = (workdir / "data" / "logs" / "execution.log").read_text()
    assert "Address already in use" in log
    assert port_is_free("127.0.0.1", int(env["BROKERSTACK_REDIS_PORT"]))
    assert port_is_free("127.0.0.1", 9871)


def test_up_refuses_a_setting_of_any_process_before_it_starts_anything(workdir: Path) -> None:
    env = _env(workdir, BROKERSTACK_EXECUTION_MAX_ITEMS="0")
    _assert_one_line_error(_cli(["up"], env, workdir), "BROKERSTACK_EXECUTION_MAX_ITEMS")
    assert not (workdir / "data" / "postgres").exists()


def test_seed_before_migrate_says_what_to_do(workdir: Path, empty_db_url: str) -> None:
    env = _env(workdir, BROKERSTACK_DATABASE_URL=empty_db_url)
    _assert_one_line_error(_cli(["seed"], env, workdir), "brokerstack migrate")


def test_unknown_revision_is_one_line(workdir: Path, empty_db_url: str) -> None:
    env = _env(workdir, BROKERSTACK_DATABASE_URL=empty_db_url)
    _assert_one_line_error(_cli(["migrate", "no-such-revision"], env, workdir), "no-such-revision")


def test_migrate_down_and_up_through_the_cli(workdir: Path, empty_db_url: str) -> None:
    env = _env(workdir, BROKERSTACK_DATABASE_URL=empty_db_url)
    assert _cli(["migrate"], env, workdir).returncode == 0
    assert _cli(["seed"], env, workdir).returncode == 0
    down = _cli(["migrate", "base", "--down"], env, workdir)
    assert down.returncode == 0, down.stderr
    assert "revision base" in down.stdout
    with psycopg.connect(empty_db_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).fetchone()
    assert tables == (0,)


def _configure_lp(database_url: str, quote_port: int, trade_port: int) -> None:
    """An operator's warehouse: the seeded simulators disabled, one LP of its own."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE lps SET enabled = false")
        row = conn.execute(
            "INSERT INTO lps (code, name) VALUES ('lp-gamma', 'LP Gamma') RETURNING id"
        ).fetchone()
        assert row is not None
        for role, port, target in (
            ("quote", quote_port, "LPGAMMA_Q"),
            ("trade", trade_port, "LPGAMMA_T"),
        ):
            conn.execute(
                """INSERT INTO lp_sessions (lp_id, role, host, port, sender_comp_id,
                                            target_comp_id, reconnect_seconds)
                   VALUES (%s, %s, '127.0.0.1', %s, %s, %s, 1)""",
                (row[0], role, port, f"BROKERSTACK_{role[0].upper()}", target),
            )
        conn.execute(
            """INSERT INTO lp_symbols (lp_id, instrument_id, lp_symbol)
               SELECT %s, id, symbol FROM instruments""",
            (row[0],),
        )


def test_up_trades_with_the_lps_the_warehouse_configures_and_starts_no_simulator(
    workdir: Path, seeded_db_url: str
) -> None:
    quote_port, trade_port = free_port(), free_port()
    _configure_lp(seeded_db_url, quote_port, trade_port)
    lp = subprocess.Popen(
        [sys.executable, "-m", "brokerstack", "run", "lp-simulator", "--name", "lp-gamma",
         "--quote-port", str(quote_port), "--trade-port", str(trade_port),
         "--ops-port", str(free_port()),
         "--data", str(workdir / "lp-gamma")],
        env=_env(workdir), cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = _env(workdir, BROKERSTACK_DATABASE_URL=seeded_db_url, BROKERSTACK_LPS="configured")
    process = _up(env, workdir)
    try:
        output = _read_until(process, "press Ctrl-C to stop", timeout=240)
        assert "lp-gamma (configured)" in output
        assert f"FIX quotes 127.0.0.1:{quote_port}" in output
        assert "lp-alpha" not in output
        assert "lp-beta" not in output
        assert all(port_is_free("127.0.0.1", port) for port in (9871, 9872, 9873, 9874))

        rows = _wait_for_status(env, workdir, lambda code, _: code == 0)
        assert rows["lp-gamma/quote"][2:] == [f"127.0.0.1:{quote_port}", "logged on"]
        assert rows["lp-gamma/trade"][2:] == [f"127.0.0.1:{trade_port}", "logged on"]
        assert "lp-alpha" not in rows
        _prices_move(redis.Redis(port=int(env["BROKERSTACK_REDIS_PORT"])))

        # the LP goes away: status says its sessions are down, and exits 1
        lp.kill()
        lp.wait()
        rows = _wait_for_status(env, workdir, lambda code, now: code == 1)
        assert rows["lp-gamma/trade"][3] == "not logged on"
        _ctrl_c(process)
        assert process.wait(timeout=90) == 0
    finally:
        _kill(process)
        if lp.poll() is None:
            lp.kill()
            lp.wait()


def test_configured_lps_without_any_lp_in_the_warehouse_is_one_line(
    workdir: Path, seeded_db_url: str
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE lps SET enabled = false")
    env = _env(workdir, BROKERSTACK_DATABASE_URL=seeded_db_url, BROKERSTACK_LPS="configured")
    result = _cli(["up"], env, workdir)
    _assert_one_line_error(result, "BROKERSTACK_LPS=configured", "no enabled LP")
    assert port_is_free("127.0.0.1", int(env["BROKERSTACK_REDIS_PORT"]))
