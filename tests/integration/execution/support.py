"""Rows the execution service tests (and the end-to-end benchmark) trade with: an account
group of their own, clients with trading accounts and wallets, and the service as a process."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from brokerstack.services.ports import free_port
from execution import contracts as c

ROOT = Path(__file__).resolve().parents[3]
_serial = itertools.count(1)


@dataclass(frozen=True)
class TestAccount:
    account_id: int
    client_id: int
    wallet_id: int


def create_group(
    conn: psycopg.Connection[Any],
    code: str = "test-netting",
    position_mode: str = "netting",
    kind: str = "demo",
    policy: str = "demo-internal",
    markup_points: int = 2,
) -> int:
    """A group without order-rate or position limits, on one of the seeded routing policies."""
    row = conn.execute(
        """INSERT INTO account_groups (brand_id, code, name, account_kind, deposit_currency,
               leverage, margin_call_level, stop_out_level, position_mode, client_category,
               negative_balance_protection, routing_policy_id)
           SELECT b.id, %s, %s, %s, 'USD', 100, 100, 50, %s, 'professional', true, p.id
           FROM brands b, routing_policies p WHERE b.code = 'demo' AND p.code = %s
           RETURNING id""",
        (code, code, kind, position_mode, policy),
    ).fetchone()
    assert row is not None
    conn.execute(
        """INSERT INTO group_symbols (account_group_id, instrument_id, markup_points)
           SELECT %s, id, %s FROM instruments""",
        (row[0], markup_points),
    )
    return int(row[0])


def create_account(
    conn: psycopg.Connection[Any],
    group_id: int,
    balance: Decimal = Decimal(0),
    kind: str = "demo",
    kyc_level: int = 2,
) -> TestAccount:
    serial = next(_serial) + os.getpid() * 10_000
    client = conn.execute(
        """INSERT INTO clients (brand_id, email, first_name, last_name, country, kyc_level)
           SELECT id, %s, 'Test', 'Trader', 'DE', %s FROM brands WHERE code = 'demo'
           RETURNING id""",
        (f"trader{serial}@example.com", kyc_level),
    ).fetchone()
    assert client is not None
    account = conn.execute(
        """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency,
               balance)
           VALUES (%s, %s, %s, %s, 'USD', %s) RETURNING id""",
        (serial, client[0], group_id, kind, balance),
    ).fetchone()
    assert account is not None
    wallet = conn.execute(
        "INSERT INTO wallets (client_id, currency) VALUES (%s, 'USD') RETURNING id", (client[0],)
    ).fetchone()
    assert wallet is not None
    return TestAccount(int(account[0]), int(client[0]), int(wallet[0]))


def place(
    request_id: str, account_id: int, side: str = "buy", volume: str = "0.01",
    symbol: str = "BTCUSD", **fields: Any,
) -> c.PlaceOrder:  # fmt: skip
    return c.PlaceOrder(
        request_id=request_id,
        account_id=account_id,
        symbol=symbol,
        side=c.Side(side),
        volume=Decimal(volume),
        **fields,
    )


def deposit(request_id: str, account: TestAccount, amount: str) -> c.BalanceOperation:
    return c.BalanceOperation(
        request_id=request_id,
        account_id=account.account_id,
        kind=c.BalanceKind.DEPOSIT,
        amount=Decimal(amount),
        wallet_id=str(account.wallet_id),
    )


def start_service(
    database_url: str,
    redis_url: str,
    log: Path,
    shard: str = "main",
    ops_port: int | None = None,
    **env: str,
) -> subprocess.Popen[bytes]:
    """``brokerstack run execution`` against these servers (quotes every 50 ms), its
    operations port on ``ops_port`` (default: a free one)."""
    environment = {
        **os.environ,
        "BROKERSTACK_DATABASE_URL": database_url,
        "BROKERSTACK_REDIS_URL": redis_url,
        "BROKERSTACK_EXECUTION_SHARD": shard,
        "BROKERSTACK_EXECUTION_DEMO_QUOTE_INTERVAL": "0.05",
        **env,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "brokerstack",
                "run",
                "execution",
                "--ops-port",
                str(ops_port or free_port()),
            ],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_service(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=30)


def until(check: Callable[[], object], timeout: float = 10) -> None:
    """Wait for `check()` to be true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
