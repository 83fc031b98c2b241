"""``brokerstack run execution`` as its own process: its operations port answers ready only once
start-up is done, and its metrics count what the orders sent through the command stream did."""

from __future__ import annotations

import math
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import redis

from brokerstack.services.ports import free_port
from brokerstack.supervisor import ready_failures
from execution import contracts as c
from execution.service.client import CommandClient
from execution.service.metrics import CommandsStream
from tests.integration.execution.support import (
    create_account,
    create_group,
    deposit,
    place,
    start_service,
    stop_service,
)
from tests.integration.ops import Scrape, ops_url, scrape, scrape_until, wait_ready

NAMED = [
    "brokerstack_orders",
    "brokerstack_journal_batch_records",
    "brokerstack_journal_commit_seconds",
    "brokerstack_lp_session_up",
    "brokerstack_lp_quote_age_seconds",
    "brokerstack_lp_fill_latency_seconds",
    "brokerstack_commands_stream_length",
    "brokerstack_commands_pending",
    "brokerstack_commands_lag_seconds",
]


def _lps(db_url: str) -> list[str]:
    with psycopg.connect(db_url) as conn:
        return [code for (code,) in conn.execute("SELECT code FROM lps ORDER BY code")]


def test_metrics_count_orders_journal_commits_lp_fills_and_the_command_backlog(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        b_book = create_account(conn, create_group(conn), Decimal(10_000))
        a_book = create_account(
            conn, create_group(conn, code="a-book", policy="professional-a-book"), Decimal(10_000)
        )
    port = free_port()
    url = ops_url(port)
    service = start_service(seeded_db_url, redis_url, tmp_path / "service.log", ops_port=port)
    client = CommandClient(redis_client)
    try:
        wait_ready(url, service)
        first = client.request(place("b-1", b_book.account_id), timeout=30)
        commands: list[c.Command] = [
            place("b-2", b_book.account_id), place("b-3", b_book.account_id, "sell"),
            place("a-1", a_book.account_id), place("a-2", a_book.account_id, "sell"),
            place("bad-volume", b_book.account_id, volume="0.001"),
            deposit("not-an-order", b_book, "10.00"),
        ]  # fmt: skip
        for command in commands:
            client.send(command)
        replies = client.wait([command.request_id for command in commands])
        client.send(place("b-1", b_book.account_id))  # a retry: answered, not counted again
        client.request(deposit("after-the-retry", b_book, "1.00"))

        def settled(m: Scrape) -> bool:
            """Every answer counted (just after it was sent), both LP fills back, none left."""
            orders = "brokerstack_orders_total"
            return (
                m.get(orders, outcome="filled", reject_code="") == 3
                and m.get(orders, outcome="routed", reject_code="") == 2
                and m.total("brokerstack_lp_fill_latency_seconds_count") == 2
                and m.get("brokerstack_commands_pending", **_commands()) == 0
            )

        metrics = scrape_until(url, settled)
        length = redis_client.xlen("commands:main")
    finally:
        assert stop_service(service) == 0

    assert isinstance(first, c.Accepted)
    assert first.state is c.OrderState.FILLED
    for routed in ("a-1", "a-2"):
        assert isinstance(replies[routed], c.Accepted)
        assert replies[routed].state is c.OrderState.ROUTED  # type: ignore[union-attr]
    rejected = replies["bad-volume"]
    assert isinstance(rejected, c.Rejected)
    assert rejected.code is c.RejectCode.INVALID_VOLUME
    for name in NAMED:
        assert metrics.help.get(name), f"{name} has no HELP text"
    assert _orders(metrics) == {
        ("filled", ""): 3.0,
        ("routed", ""): 2.0,
        ("rejected", "invalid_volume"): 1.0,
    }
    # every journal transaction is measured, and the batches carried the orders' records
    commits = metrics.value("brokerstack_journal_commit_seconds_count")
    assert commits >= 1
    assert metrics.value("brokerstack_journal_batch_records_count") == commits
    assert metrics.value("brokerstack_journal_batch_records_sum") >= 6 + 2  # commands, LP orders
    assert metrics.value("brokerstack_journal_commit_seconds_sum") > 0
    # the two A-book orders went to an LP and came back filled
    assert metrics.total("brokerstack_lp_fill_latency_seconds_sum") > 0
    lps = _lps(seeded_db_url)
    for lp in lps:
        assert metrics.value("brokerstack_lp_session_up", lp=lp, session="in-process") == 1
        assert 0 <= metrics.value("brokerstack_lp_quote_age_seconds", lp=lp) < 5
    assert metrics.value("brokerstack_commands_lag_seconds", **_commands()) == 0
    assert metrics.value("brokerstack_commands_stream_length", stream="commands:main") == length


def _commands() -> dict[str, str]:
    return {"stream": "commands:main", "group": "execution"}


def _orders(metrics: Scrape) -> dict[tuple[str, str], float]:
    return {
        (labels["outcome"], labels["reject_code"]): metrics.value(
            "brokerstack_orders_total", **labels
        )
        for labels in metrics.labels("brokerstack_orders_total")
    }


def test_not_ready_until_warmed_up_and_lp_sessions_down_are_seen(
    seeded_db_url: str, redis_url: str, tmp_path: Path
) -> None:
    """FIX LPs nobody answers: no prices, so start-up waits the whole warm-up; the metrics say
    the sessions are down and no LP ever quoted."""
    with psycopg.connect(seeded_db_url) as conn:
        for (session,) in conn.execute("SELECT id FROM lp_sessions").fetchall():
            conn.execute("UPDATE lp_sessions SET port = %s WHERE id = %s", (free_port(), session))
    port = free_port()
    url = ops_url(port)
    service = start_service(
        seeded_db_url, redis_url, tmp_path / "service.log", ops_port=port,
        BROKERSTACK_EXECUTION_LPS="fix", BROKERSTACK_EXECUTION_WARM_UP_SECONDS="4",
        BROKERSTACK_DATA_DIR=str(tmp_path / "data"),
    )  # fmt: skip
    try:
        answers: list[dict[str, str] | None] = []
        deadline = time.monotonic() + 60
        while not answers or answers[-1] is not None:
            assert service.poll() is None, "the service exited"
            assert time.monotonic() < deadline, f"never ready: {answers[-1]}"
            failures = ready_failures(url, timeout=1)
            if failures is None or "ops port" not in failures:
                answers.append(failures)  # the port answered
            time.sleep(0.1)
        metrics = scrape(url)
    finally:
        assert stop_service(service) == 0

    assert answers[0] is not None
    assert "waiting for prices" in answers[0]["start-up"]
    lps = _lps(seeded_db_url)
    for lp in lps:
        for session in ("quote", "trade"):
            assert metrics.value("brokerstack_lp_session_up", lp=lp, session=session) == 0
        assert metrics.value("brokerstack_lp_quote_age_seconds", lp=lp) == math.inf


def _backlog(collector: CommandsStream) -> dict[str, float]:
    return {s.name: s.value for family in collector.collect() for s in family.samples}


def test_the_command_backlog_is_read_from_redis_at_scrape_time(redis_client: redis.Redis) -> None:
    stream = "commands:backlog"
    redis_client.xgroup_create(stream, "execution", id="0", mkstream=True)
    collector = CommandsStream(redis_client, stream, "execution")
    assert _backlog(collector) == {
        "brokerstack_commands_stream_length": 0,
        "brokerstack_commands_pending": 0,
        "brokerstack_commands_lag_seconds": 0,
    }
    an_hour_ago = int(time.time() * 1000) - 3_600_000
    for n in range(3):
        redis_client.xadd(stream, {"c": b"x"}, id=f"{an_hour_ago + n * 60_000}-0")
    redis_client.xreadgroup("execution", "reader", {stream: ">"}, count=1)
    waiting = _backlog(collector)  # the first read, not answered; two not read yet
    assert waiting["brokerstack_commands_stream_length"] == 3
    assert waiting["brokerstack_commands_pending"] == 1
    assert 3600 <= waiting["brokerstack_commands_lag_seconds"] < 3660
    redis_client.xack(stream, "execution", f"{an_hour_ago}-0")
    unread = _backlog(collector)  # the oldest entry not done with is the second
    assert unread["brokerstack_commands_pending"] == 0
    assert 3540 <= unread["brokerstack_commands_lag_seconds"] < 3600
    redis_client.xreadgroup("execution", "reader", {stream: ">"})
    redis_client.xack(stream, "execution", *(f"{an_hour_ago + n * 60_000}-0" for n in (1, 2)))
    assert _backlog(collector)["brokerstack_commands_lag_seconds"] == 0


def test_a_redis_that_does_not_answer_leaves_the_backlog_out_of_the_scrape() -> None:
    gone = redis.Redis(port=free_port(), socket_connect_timeout=1)
    assert list(CommandsStream(gone, "commands:main", "execution").collect()) == []
