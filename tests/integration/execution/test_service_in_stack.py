"""`brokerstack up` runs the execution service: its process, as the stack specifies it, answers
commands and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import psycopg
import redis

from brokerstack.cli.stack import Endpoints, stack_processes
from brokerstack.settings import Settings
from execution import contracts as c
from execution.service.client import CommandClient
from tests.integration.execution.support import ROOT, create_account, create_group, deposit


def test_the_stacks_execution_process_answers_and_stops_cleanly(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        account = create_account(conn, create_group(conn), Decimal(100))
    settings = Settings(data_dir=tmp_path)
    (spec,) = [
        p
        for p in stack_processes(settings, Endpoints(seeded_db_url, redis_url))
        if p.name == "execution"
    ]
    with (tmp_path / "execution.log").open("wb") as log:
        process = subprocess.Popen(
            list(spec.argv), cwd=ROOT, env={**os.environ, **spec.env}, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        reply = CommandClient(redis_client).request(deposit("up-1", account, "5.00"), 60)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)

    assert isinstance(reply, c.Accepted)
    assert reply.balance == Decimal("105.00")
    assert code == 0
    assert "stopped" in (tmp_path / "execution.log").read_text()
