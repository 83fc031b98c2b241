"""Accounts the back office opens while the service runs trade like the ones it started with:
their first close with a profit or loss is booked in the ledger and the service keeps running."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg
import redis

from execution import contracts as c
from execution.service.client import CommandClient
from tests.integration.execution.support import (
    create_account,
    create_group,
    deposit,
    place,
    start_service,
    stop_service,
)


def test_an_account_opened_after_start_closes_with_pnl_and_the_service_lives_on(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        group = create_group(conn)
        before = create_account(conn, group, Decimal(1_000))
    client = CommandClient(redis_client)
    service = start_service(seeded_db_url, redis_url, tmp_path / "service.log")
    try:
        # up and priced
        assert isinstance(client.request(deposit("dep-0", before, "1.00"), timeout=60), c.Accepted)
        with psycopg.connect(seeded_db_url) as conn:
            later = create_account(conn, group, Decimal(1_000))

        for attempt in range(10):
            opened = client.request(
                place(f"open-{attempt}", later.account_id, "buy", "0.10"), timeout=30
            )
            if isinstance(opened, c.Rejected) and opened.code is c.RejectCode.OFF_QUOTES:
                continue  # a loaded machine let the demo prices go stale for a moment
            assert isinstance(opened, c.Accepted), opened
            assert opened.position_id is not None
            closed = client.request(
                c.ClosePosition(
                    request_id=f"close-{attempt}",
                    account_id=later.account_id,
                    position_id=opened.position_id,
                ),
                timeout=30,
            )
            if isinstance(closed, c.Rejected) and closed.code is c.RejectCode.OFF_QUOTES:
                continue
            assert isinstance(closed, c.Accepted), closed
            assert closed.deal_ids, closed
            with psycopg.connect(seeded_db_url) as conn:
                found = conn.execute(
                    "SELECT profit FROM deals WHERE id = %s", (closed.deal_ids[0],)
                ).fetchone()
            if found is not None and found[0] != 0:
                break  # a close with a profit or loss: the case that crashed the service
        else:
            raise AssertionError("ten tries without a close with a profit or loss")
        after = client.request(deposit("dep-1", before, "1.00"), timeout=30)

        assert isinstance(after, c.Accepted), after
        assert service.poll() is None, "the service died"
        with psycopg.connect(seeded_db_url) as conn:
            profit, commission, balance = conn.execute(
                """SELECT sum(d.profit), sum(d.commission), a.balance FROM deals d
                   JOIN trading_accounts a ON a.id = d.trading_account_id
                   WHERE d.trading_account_id = %s GROUP BY a.balance""",
                (later.account_id,),
            ).fetchone() or (None, None, None)
            # the trading account's ledger balance (debits positive) is its results, negated
            ledger = conn.execute(
                """SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                   JOIN ledger_accounts l ON l.id = e.ledger_account_id
                   WHERE l.trading_account_id = %s""",
                (later.account_id,),
            ).fetchone()
        assert profit is not None
        assert commission is not None
        assert balance == Decimal(1_000) + profit + commission
        assert ledger == (-(profit + commission),)
    finally:
        assert stop_service(service) == 0
