"""100 clients' tabs asking for a withdrawal at the same moment, all from one wallet: the
holds never add up to more than the wallet has (each request locks the wallet's balance row
before checking what is available)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D

import httpx
import psycopg

from backoffice.errors import Refused
from backoffice.payments import withdrawals
from brokerstack.settings import Settings
from tests.integration.api.support import Party
from tests.integration.backoffice.test_card_deposits import (  # noqa: F401 (world: a fixture)
    _paid_deposit,
    token,
    world,
)
from warehouse import ledger

REQUESTS = 100


def test_100_concurrent_withdrawals_never_hold_more_than_the_wallet(
    world: tuple[str, str, Settings, Party],  # noqa: F811 (the fixture imported above)
    seeded_db_url: str,
) -> None:
    api, sim, settings, client = world
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (client.client_id,))
    auth = token(api, client)
    _paid_deposit(api, sim, settings, seeded_db_url, auth, "500.00", "funds", 1)
    start = threading.Barrier(REQUESTS)

    def ask(number: int) -> str:
        with psycopg.connect(seeded_db_url) as conn:
            start.wait()
            try:
                withdrawals.request_withdrawal(conn, client.client_id, D("7.00"), "USD", None,
                                               f"tab-{number}")  # fmt: skip
            except Refused as refused:
                return refused.code
            return "held"

    with ThreadPoolExecutor(REQUESTS) as pool:
        outcomes = list(pool.map(ask, range(REQUESTS)))
    # 500.00 // 7.00 = 71 holds fit (497.00); every other request is refused, none fails
    assert outcomes.count("held") == 71, sorted(set(outcomes))
    assert set(outcomes) - {"held"} == {"insufficient_funds"}
    with psycopg.connect(seeded_db_url) as conn:
        held = conn.execute(
            """SELECT count(*), sum(amount) FROM withdrawals
               WHERE client_id = %s AND status = 'pending_approval'""",
            (client.client_id,),
        ).fetchone()
        assert held == (71, D("497.00"))
        assert ledger.check(conn).ok
    wallet = httpx.get(f"{api}/v1/portal/wallets", headers=auth).json()[0]
    assert (wallet["balance"], wallet["held"]) == ("500.00", "497.00")
