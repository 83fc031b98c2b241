"""The soak of the money path: 2,000 signed PSP webhooks, a fifth of them duplicates, in random
order over HTTP into the api, while the real worker process (``brokerstack run
backoffice-worker``) applying them is SIGKILLed at 10 random moments and started again.

Afterwards every payment is credited exactly once, every distinct event is in the inbox once
and processed, each wallet holds the sum of its own payments (computed here from the amounts
the test chose), and the ledger's check finds nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D
from pathlib import Path

import httpx
import psycopg
import redis

from backoffice.payments import signatures
from brokerstack.services.ports import free_port
from tests.integration.api.conftest import make_settings
from tests.integration.api.servers import serve
from warehouse import ledger

ROOT = Path(__file__).resolve().parents[3]
SECRET = "whsec_simulator"
CLIENTS = 100
PAYMENTS = 1_600
DUPLICATES = 400
KILLS = 10


def _payments(db_url: str, rng: random.Random) -> dict[int, tuple[int, D]]:
    """PAYMENTS deposits pending at the card PSP: id -> (client, amount)."""
    out: dict[int, tuple[int, D]] = {}
    with psycopg.connect(db_url) as conn:
        clients = [int(r[0]) for r in conn.execute(
            """INSERT INTO clients (brand_id, email, first_name, last_name, country)
               SELECT b.id, 'soak' || n || '@example.com', 'Soak', 'Client', 'DE'
               FROM brands b, generate_series(1, %s) n WHERE b.code = 'demo' RETURNING id""",
            (CLIENTS,))]  # fmt: skip
        for client in clients:
            conn.execute(
                """WITH a AS (INSERT INTO ledger_accounts (code, kind, currency, brand_id,
                                                         client_id)
                              SELECT 'client:' || %s || ':wallet:USD', 'client_wallet', 'USD',
                                     brand_id, id FROM clients WHERE id = %s RETURNING id)
                   INSERT INTO wallets (client_id, currency, ledger_account_id)
                   SELECT %s, 'USD', id FROM a""",
                (client, client, client),
            )
        for n in range(PAYMENTS):
            client = clients[n % CLIENTS]
            amount = D(rng.randint(1_000, 500_000)) / 100
            row = conn.execute(
                """INSERT INTO payments (client_id, brand_id, wallet_id, psp, psp_payment_id,
                                         idempotency_key, direction, method, amount, currency,
                                         fee, status)
                   SELECT c.id, c.brand_id, w.id, 'card-sim', %s, %s, 'deposit', 'card', %s,
                          'USD', 0.30, 'pending'
                   FROM clients c JOIN wallets w ON w.client_id = c.id WHERE c.id = %s
                   RETURNING id""",
                (f"pi_soak_{n}", f"soak-{n}", amount, client),
            ).fetchone()
            assert row is not None
            out[int(row[0])] = (client, amount)
    return out


def _event(n: int, payment_id: int, amount: D) -> bytes:
    return json.dumps({
        "id": f"evt_soak_{n}", "object": "event", "type": "payment_intent.succeeded",
        "created": int(time.time()), "data": {"object": {
            "id": f"pi_soak_{n}", "object": "payment_intent", "amount": int(amount * 100),
            "amount_received": int(amount * 100), "currency": "usd", "status": "succeeded",
            "metadata": {"payment_id": str(payment_id)}}},
    }).encode()  # fmt: skip


def _worker(db_url: str, redis_url: str, folder: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "BROKERSTACK_DATABASE_URL": db_url,
        "BROKERSTACK_REDIS_URL": redis_url,
        "BROKERSTACK_DATA_DIR": str(folder),
    }
    with (folder / "worker.log").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "brokerstack", "run", "backoffice-worker", "--ops-port",
             str(free_port())],
            cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_webhooks_with_duplicates_and_a_killed_worker_credit_every_payment_once(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    del redis_client
    rng = random.Random(20261202)
    payments = _payments(seeded_db_url, rng)
    ids = list(payments)
    bodies = [_event(n, pid, payments[pid][1]) for n, pid in enumerate(ids)]
    deliveries = bodies + rng.sample(bodies, DUPLICATES)
    rng.shuffle(deliveries)
    settings = make_settings(seeded_db_url, redis_url, tmp_path)
    worker = _worker(seeded_db_url, redis_url, tmp_path)
    kills: list[float] = []

    def killer() -> None:
        nonlocal worker
        while len(kills) < KILLS:
            time.sleep(rng.uniform(0.3, 1.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills.append(time.monotonic())
            worker = _worker(seeded_db_url, redis_url, tmp_path)

    with serve(settings) as api:
        url = f"{api}/v1/webhooks/psp/card-sim"

        def deliver(body: bytes) -> int:
            header = signatures.sign(SECRET, body, int(time.time()))
            with httpx.Client(timeout=30) as http:
                for _ in range(20):  # a PSP retries until answered 2xx
                    try:
                        answer = http.post(url, content=body, headers={
                            "Content-Type": "application/json",
                            signatures.SIGNATURE_HEADER: header})  # fmt: skip
                    except httpx.HTTPError:
                        time.sleep(0.2)
                        continue
                    if answer.status_code == 200:
                        return 200
                    time.sleep(0.2)
            return 0

        chaos = threading.Thread(target=killer)
        chaos.start()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(deliver, deliveries))
        chaos.join(120)
    assert answers.count(200) == len(deliveries)
    assert len(kills) == KILLS
    try:
        deadline = time.monotonic() + 120
        with psycopg.connect(seeded_db_url, autocommit=True) as conn:
            while conn.execute("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL"
                               ).fetchone() != (0,):  # fmt: skip
                assert time.monotonic() < deadline, "the worker never finished the inbox"
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
                time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    with psycopg.connect(seeded_db_url) as conn:
        inbox = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM webhook_inbox "
            "WHERE provider = 'card-sim'").fetchone()  # fmt: skip
        credits = conn.execute(
            """SELECT count(*), count(DISTINCT idempotency_key) FROM ledger_transfers
               WHERE idempotency_key LIKE 'payment:%%:credit'"""
        ).fetchone()
        statuses = conn.execute("SELECT status, count(*) FROM payments GROUP BY 1").fetchall()
        wallets: dict[int, D] = dict(conn.execute(
            """SELECT w.client_id, -coalesce(sum(e.amount), 0) FROM wallets w
               LEFT JOIN ledger_entries e ON e.ledger_account_id = w.ledger_account_id
               GROUP BY w.client_id""").fetchall())  # fmt: skip
        report = ledger.check(conn)
    expected: dict[int, D] = {}
    for client, amount in payments.values():
        expected[client] = expected.get(client, D(0)) + amount
    assert inbox == (PAYMENTS, PAYMENTS)  # every distinct event kept once, none lost
    assert credits == (PAYMENTS, PAYMENTS)  # every payment credited exactly once
    assert statuses == [("succeeded", PAYMENTS)]
    assert wallets == expected
    assert report.ok, report
