"""The real execution service process with its LPs over FIX (as `brokerstack up` runs it):
an A-book client order goes service -> FIX -> simulator -> ack and fill -> client deal at the
LP's price plus markup, with the LP order (the LP's OrderID on it) and its execution reports in
the warehouse."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg
import redis

from execution import contracts as c
from execution.lpsim.behaviour import Behaviour
from execution.lpsim.simulator import LpSimulator
from execution.service.client import CommandClient
from tests.integration.execution.support import (
    create_account,
    create_group,
    place,
    start_service,
    stop_service,
)
from tests.integration.fix.conftest import configure_lps, wait_for


def test_a_book_order_through_the_service_process_fills_at_lp_price_plus_markup(
    seeded_db_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    simulators: list[LpSimulator],
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        lps = configure_lps(conn, ["lp-alpha"], tmp_path)
        conn.execute("UPDATE lps SET enabled = false WHERE code <> 'lp-alpha'")
        # FX is closed at weekends and holidays; this test must not depend on the day it runs.
        conn.execute("UPDATE instruments SET holiday_calendar_id = NULL WHERE symbol = 'EURUSD'")
        conn.execute(
            """INSERT INTO trading_sessions (instrument_id, kind, weekday, opens, closes)
               SELECT i.id, k.kind, d.day, '00:00', '23:59:59.999999'
               FROM instruments i, (VALUES ('quote'), ('trade')) k (kind),
                    generate_series(1, 7) d (day)
               WHERE i.symbol = 'EURUSD'
               ON CONFLICT DO NOTHING"""
        )
        group = create_group(
            conn, code="fix-a-book", kind="live", policy="professional-a-book", markup_points=4
        )
        account = create_account(conn, group, balance=Decimal(100_000), kind="live")
        conn.commit()
    lp = lps["lp-alpha"].simulator(Behaviour(spread_points=10, ack=True), steady=True)
    lp.start()
    simulators.append(lp)

    service = start_service(
        seeded_db_url,
        redis_url,
        tmp_path / "service.log",
        BROKERSTACK_EXECUTION_LPS="fix",
        BROKERSTACK_DATA_DIR=str(tmp_path / "data"),
    )
    try:
        client = CommandClient(redis_client, requester="fix-test")
        assert wait_for(lambda: redis_client.hexists("quotes:last", "fix-a-book:EURUSD"), 30), (
            tmp_path / "service.log"
        ).read_text()
        reply = client.request(place("fix-1", account.account_id, symbol="EURUSD", volume="0.5"))
        assert isinstance(reply, c.Accepted), reply

        with psycopg.connect(seeded_db_url) as conn:
            assert wait_for(
                lambda: (
                    conn.execute(
                        "SELECT count(*) FROM deals WHERE trading_account_id = %s",
                        (account.account_id,),
                    ).fetchone()
                    == (1,)
                ),
                15,
            )
            deal = conn.execute(
                "SELECT side, volume, price, routed, lp_order_id FROM deals "
                "WHERE trading_account_id = %s",
                (account.account_id,),
            ).fetchone()
            lp_order = conn.execute(
                "SELECT cl_ord_id, status, cum_qty, avg_px, id, lp_order_ref FROM lp_orders "
                "WHERE order_id = %s",
                (reply.order_id,),
            ).fetchone()
            assert lp_order is not None
            reports = conn.execute(
                "SELECT count(*) FROM lp_execution_reports "
                "WHERE lp_order_id = %s AND exec_type = 'F'",
                (lp_order[4],),
            ).fetchone()
    finally:
        assert stop_service(service) == 0

    assert deal is not None
    side, volume, price, routed, deal_lp_order = deal
    assert (side, volume, routed) == ("BUY", Decimal("0.5"), "A")
    assert deal_lp_order == lp_order[4]
    assert lp_order[1] == "FILLED"
    assert lp_order[5] == lp.orders[lp_order[0]].order_id  # the LP's OrderID (tag 37)
    assert lp_order[2] == Decimal("0.5")
    # The client pays the LP's fill price plus the group's markup (4 points total, 2 per side).
    assert price == lp_order[3] + Decimal("0.00002")
    assert reports is not None
    assert reports[0] >= 1
