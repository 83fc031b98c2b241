"""The KYC deposit limit counts a deposit in another currency at a rate: the last daily cut's,
and on a new stack that has had no cut yet, the mid of the pair's latest tick (real PostgreSQL,
the card PSP's simulator). Without either, the deposit is refused as retryable, not guessed."""

from __future__ import annotations

import httpx
import psycopg

from brokerstack.settings import Settings
from tests.integration.api.support import Party
from tests.integration.backoffice.test_card_deposits import (  # noqa: F401 (world: a fixture)
    token,
    world,
)


def eur(api: str, auth: dict[str, str], amount: str, key: str) -> httpx.Response:
    body = {"amount": amount, "currency": "EUR", "method": "card", "idempotency_key": key}
    return httpx.post(f"{api}/v1/portal/deposits", headers=auth, json=body)


def test_a_euro_deposit_counts_at_the_latest_tick_before_the_first_cut_then_at_the_cut(
    world: tuple[str, str, Settings, Party],  # noqa: F811 (the fixture imported above)
    seeded_db_url: str,
) -> None:
    api, _sim, _settings, client = world
    auth = token(api, client)
    with psycopg.connect(seeded_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM cut_rates").fetchone() == (0,)
        conn.execute("DELETE FROM ticks")
    refused = eur(api, auth, "100.00", "no-rate")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "fx_rate_unavailable"

    with psycopg.connect(seeded_db_url) as conn:  # EURUSD 1.0999 / 1.1001: the mid is 1.1
        conn.execute(
            """INSERT INTO ticks (time, symbol, source, bid, ask)
               VALUES (now() - interval '1 hour', 'EURUSD', 'lp-alpha', 1.4999, 1.5001),
                      (now() - interval '5 seconds', 'EURUSD', 'lp-alpha', 1.0999, 1.1001)"""
        )
    # KYC level 1: 2,000.00 USD in all. 1,818.19 EUR x 1.1 = 2,000.009 USD: over
    over = eur(api, auth, "1818.19", "over")
    assert over.status_code == 403, over.text
    assert over.json()["error"]["details"]["remaining"] == "2000.00"
    assert eur(api, auth, "1818.18", "fits").status_code == 201  # 1,999.998 USD

    with psycopg.connect(seeded_db_url) as conn:  # the first cut: EUR at 1.0 from now on
        conn.execute("INSERT INTO cut_rates (cut, currency, usd_rate) VALUES (now(), 'EUR', 1.0)")
    # 1,818.18 EUR x 1.0 = 1,818.18 USD used: 181.82 left, whatever the ticks say
    over = eur(api, auth, "181.83", "after-cut-over")
    assert over.status_code == 403, over.text
    assert over.json()["error"]["details"]["remaining"] == "181.82"
    assert eur(api, auth, "181.82", "after-cut-fits").status_code == 201
