"""Client metrics over two trading days around the US DST change of 2026-03-08.

Partition '2026-03-06' is Friday's cut to Monday's: 2026-03-06 22:00 UTC (17:00 EST) to
2026-03-09 21:00 UTC (17:00 EDT), trade date 2026-03-09. Partition '2026-03-09' runs on to
2026-03-10 21:00 UTC. Every expected figure below is worked out by hand from the seeded rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import psycopg
import pytest

from pipelines.assets.metrics import client_metrics, client_metrics_match_raw_totals
from pipelines.partitions import trading_day
from tests.integration.pipelines import support as s
from tests.integration.pipelines import support_metrics as m
from tests.integration.pipelines.conftest import Runner, check_results

DST_DAY = "2026-03-06"
NEXT_DAY = "2026-03-09"
CUT_1 = datetime(2026, 3, 9, 21, tzinfo=UTC)
CUT_2 = datetime(2026, 3, 10, 21, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def seed(conn: psycopg.Connection[Any]) -> int:
    """Three clients (two countries, two sources, one with an IB); returns the IB's id."""
    s.cut_rates(conn, CUT_1, {"EUR": D("1.1"), "JPY": D("0.0067")})  # no USD row: USD is 1
    s.cut_rates(conn, CUT_2, {"EUR": D("1.08"), "JPY": D("0.0066")})
    ib = m.ib_partner(conn, "Partner P")

    # A: Czech, direct, registered in the DST day. B: German, from a Google lead, referred
    # by P, registered in the DST day. C: Czech, direct, an old client.
    # D: registered a minute before the DST day starts (22:00 UTC).
    a = s.client(conn, country="CZ", created_at=at(7, 10))
    b = s.client(conn, country="DE", created_at=at(8, 9), ib_partner_id=ib)
    c = s.client(conn, country="CZ", created_at=at(1, 9, month=2))
    s.client(conn, country="CZ", created_at=at(6, 21, 59))
    m.lead(conn, source="google", created_at=at(1, 8), client_id=b)
    m.lead(conn, source="facebook", created_at=at(7, 8))  # not converted: no client

    m.kyc_application(conn, a, at(7, 11), status="approved", decided_at=at(9, 20))
    m.kyc_application(conn, b, at(8, 9, 30), status="in_review")
    m.kyc_application(conn, c, at(5, 12), status="rejected", decided_at=at(8, 12))
    m.kyc_application(conn, c, at(9, 21, 30))  # the next day

    s.payment(conn, c, "deposit", D(500), "USD", at(10, 10, month=2))  # long before
    s.payment(conn, c, "deposit", D(200), "EUR", at(9, 20))  # 1 h before the cut
    s.payment(conn, c, "deposit", D(300), "EUR", at(9, 21, 30))  # 30 min after the cut
    s.payment(conn, c, "withdrawal", D(150), "USD", at(8, 15))
    s.payment(conn, a, "deposit", D(700), "USD", at(7, 11, 30), status="failed")
    s.payment(conn, a, "deposit", D(1000), "USD", at(7, 12))  # A's first deposit
    s.payment(conn, a, "deposit", D(100), "EUR", at(8, 10))  # 22 h after it
    s.payment(conn, a, "deposit", D(50), "USD", at(9, 8))  # 44 h after it
    s.payment(conn, a, "withdrawal", D(40), "USD", at(9, 10), status="pending")
    s.payment(conn, b, "deposit", D(2000), "EUR", at(9, 20, 30))  # B's first deposit
    s.payment(conn, b, "deposit", D(100), "USD", at(9, 21, 30))  # 1 h after, next day

    live_a = s.account(conn, a)
    pos = s.position(conn, live_a, "EURUSD", "BUY", D("0.5"), D("1.1"), at(9, 14))
    s.deal(conn, live_a, pos, "EURUSD", "BUY", "IN", D("0.5"), D("1.1"), at(9, 14))
    s.deal(conn, live_a, pos, "EURUSD", "SELL", "OUT", D("0.5"), D("1.2"), at(9, 18))
    live_b = s.account(conn, b)
    pos = s.position(conn, live_b, "USDJPY", "BUY", D(2), D(150), at(9, 15))
    s.deal(conn, live_b, pos, "USDJPY", "BUY", "IN", D(2), D(150), at(9, 15))
    s.deal(conn, live_b, pos, "USDJPY", "SELL", "OUT", D(2), D(151), at(9, 21, 30))
    demo_c = s.account(conn, c, group="demo-usd")
    pos = s.position(conn, demo_c, "EURUSD", "BUY", D(1), D("1.1"), at(9, 16))
    s.deal(conn, demo_c, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9, 16))
    return ib


COLUMNS = (
    "country, source, ib_partner_id, registrations, kyc_started, kyc_approved, kyc_rejected, "
    "ftd_count, ftd_usd, deposits_usd, withdrawals_usd, net_deposits_usd, active_traders, "
    "volume_lots, notional_usd"
)


def rows(conn: psycopg.Connection[Any], trade_date: date) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT {COLUMNS} FROM reports.client_metrics WHERE trade_date = %s "
        "ORDER BY country, source",
        (trade_date,),
    ).fetchall()


def test_the_window_crosses_the_dst_change() -> None:
    day = trading_day(DST_DAY)
    assert (day.start, day.end, day.trade_date) == (at(6, 22), CUT_1, date(2026, 3, 9))


def test_a_day_across_the_dst_change(conn: psycopg.Connection[Any], run: Runner) -> None:
    ib = seed(conn)
    result = run([client_metrics, client_metrics_match_raw_totals], DST_DAY)

    assert check_results(result) == {"client_metrics_match_raw_totals": True}
    assert rows(conn, date(2026, 3, 9)) == [
        # A and C. Registered: A (D is a minute early). KYC: A started and approved,
        # C rejected (started before). FTD: A, 1000 USD + 100 EUR x 1.1 = 1110 (the 50 USD
        # is 44 h later). Deposits: A 1000 + 110 + 50, C 200 EUR x 1.1 = 220 (300 EUR is after
        # the cut; 500 USD long before) = 1380. Withdrawals: C 150 (A's 40 is pending).
        # Net 1380 - 150 = 1230. Traded: A (C only on demo), 0.5 + 0.5 = 1 lot,
        # 0.5 x 100,000 x 1.1 + 0.5 x 100,000 x 1.2 = 55,000 + 60,000 = 115,000 USD.
        ("CZ", "direct", 0, 1, 1, 1, 1, 1, D(1110), D(1380), D(150), D(1230), 1, D(1),
         D(115_000)),
        # B: registered, KYC started; FTD 2000 EUR x 1.1 = 2200 (the 100 USD an hour later
        # is after the cut); 2 lots USDJPY at 150: 2 x 100,000 x 150 x 0.0067 = 201,000 USD.
        ("DE", "google", ib, 1, 1, 0, 0, 1, D(2200), D(2200), D(0), D(2200), 1, D(2),
         D(201_000)),
    ]  # fmt: skip


def test_the_next_day(conn: psycopg.Connection[Any], run: Runner) -> None:
    ib = seed(conn)
    result = run([client_metrics, client_metrics_match_raw_totals], NEXT_DAY)

    assert check_results(result) == {"client_metrics_match_raw_totals": True}
    assert rows(conn, date(2026, 3, 10)) == [
        # C: a KYC application; 300 EUR x 1.08 = 324.
        ("CZ", "direct", 0, 0, 1, 0, 0, 0, D(0), D(324), D(0), D(324), 0, D(0), D(0)),
        # B: 100 USD within 24 h of the first deposit, but the FTD was yesterday: no FTD.
        # 2 lots USDJPY at 151: 2 x 100,000 x 151 x 0.0066 = 199,320 USD.
        ("DE", "google", ib, 0, 0, 0, 0, 0, D(0), D(100), D(0), D(100), 1, D(2), D(199_320)),
    ]  # fmt: skip


def test_a_rerun_replaces_the_day(conn: psycopg.Connection[Any], run: Runner) -> None:
    seed(conn)
    run([client_metrics], DST_DAY)
    later = s.client(conn, country="CZ")
    s.payment(conn, later, "withdrawal", D(30), "USD", at(9, 12))
    run([client_metrics, client_metrics_match_raw_totals], DST_DAY)

    (count, withdrawals) = conn.execute(
        "SELECT count(*), sum(withdrawals_usd) FROM reports.client_metrics WHERE trade_date = %s",
        (date(2026, 3, 9),),
    ).fetchone() or (None, None)
    assert (count, withdrawals) == (2, D(150 + 30))


def test_a_currency_without_a_rate_stops_the_day(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    seed(conn)
    s.payment(conn, s.client(conn), "deposit", D(10), "GBP", at(9, 12))
    result = run([client_metrics], DST_DAY, ok=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no USD rate at the cut 2026-03-09T21:00:00+00:00 for GBP" in str(
        failure.event_specific_data
    )
    assert s.one(conn, "SELECT count(*) FROM reports.client_metrics") == 0


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("deposits_usd", "+ 1"),
        ("withdrawals_usd", "* 2"),
        ("registrations", "+ 1"),
        ("ftd_count", "+ 1"),
    ],
)
def test_the_check_fails_on_corrupted_rows(
    conn: psycopg.Connection[Any], run: Runner, column: str, change: str
) -> None:
    seed(conn)
    # A writer bug, planted: every row lands with one figure off.
    conn.execute(
        f"""CREATE FUNCTION corrupt() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.{column} := NEW.{column} {change}; RETURN NEW; END $$;
            CREATE TRIGGER corrupt BEFORE INSERT ON reports.client_metrics
                FOR EACH ROW EXECUTE FUNCTION corrupt();"""
    )
    result = run([client_metrics, client_metrics_match_raw_totals], DST_DAY, ok=False)

    assert check_results(result) == {"client_metrics_match_raw_totals": False}
    assert not result.success  # blocking: the run fails
