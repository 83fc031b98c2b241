"""IB and prop daily totals over the trading day across the US DST change (partition
'2026-03-06': 2026-03-06 22:00 UTC to 2026-03-09 21:00 UTC, trade date 2026-03-09) and the
day after ('2026-03-09', to 2026-03-10 21:00 UTC). Expected figures are worked by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import psycopg

from pipelines.assets.partners import (
    ib_daily,
    ib_daily_matches_accruals,
    ib_referred_daily,
    prop_daily,
)
from tests.integration.pipelines import support as s
from tests.integration.pipelines import support_metrics as m
from tests.integration.pipelines.conftest import Runner, check_results

DST_DAY, NEXT_DAY = "2026-03-06", "2026-03-09"
TRADE_DATE, NEXT_TRADE_DATE = date(2026, 3, 9), date(2026, 3, 10)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Partners:
    parent: int  # Q
    child: int  # P, under Q


def seed_ib(conn: psycopg.Connection[Any]) -> Partners:
    q = m.ib_partner(conn, "Partner Q")
    p = m.ib_partner(conn, "Partner P", parent_id=q)
    usd_plan, eur_plan = m.ib_plan_version(conn, "USD"), m.ib_plan_version(conn, "EUR")

    # B is referred by P and trades on a live account; E, also P's, only on demo.
    b = s.client(conn, country="DE", ib_partner_id=p)
    e = s.client(conn, country="DE", ib_partner_id=p)
    live = s.account(conn, b)
    pos = s.position(conn, live, "USDJPY", "BUY", D(2), D(150), at(5, 9))

    def deal(lots: str, when: datetime, acc: s.Account = live) -> tuple[int, datetime]:
        return s.deal(conn, acc, pos, "USDJPY", "BUY", "IN", D(lots), D(150), when), when

    d1 = deal("2", at(9, 15))
    d2 = deal("0.3", at(9, 16))
    d3 = deal("0.1", at(8, 12))
    d4 = deal("1", at(9, 21, 30))  # after the cut
    d5 = deal("0.5", at(6, 21, 59))  # a minute before the day starts
    deal("5", at(9, 17), s.account(conn, e, group="demo-usd"))

    m.accrual(conn, p, usd_plan, *d1, D("5.00"))
    m.accrual(conn, q, usd_plan, *d1, D("1.50"), level=2)
    m.accrual(conn, p, usd_plan, *d1, D("-5.00"), kind="reversal")
    m.accrual(conn, p, usd_plan, *d2, D("0.90"))
    m.accrual(conn, p, eur_plan, *d3, D("3.00"), "EUR")
    m.accrual(conn, p, usd_plan, *d4, D("7.00"))
    m.accrual(conn, p, usd_plan, *d5, D("2.00"))
    return Partners(q, p)


def ib_rows(conn: psycopg.Connection[Any], trade_date: date) -> list[tuple[Any, ...]]:
    return conn.execute(
        """SELECT ib_partner_id, currency, accruals, reversals, amount FROM reports.ib_daily
           WHERE trade_date = %s ORDER BY ib_partner_id, currency""",
        (trade_date,),
    ).fetchall()


def referred_rows(conn: psycopg.Connection[Any], trade_date: date) -> list[tuple[Any, ...]]:
    return conn.execute(
        """SELECT ib_partner_id, clients, volume_lots FROM reports.ib_referred_daily
           WHERE trade_date = %s ORDER BY ib_partner_id""",
        (trade_date,),
    ).fetchall()


def test_ib_daily_across_the_dst_change(conn: psycopg.Connection[Any], run: Runner) -> None:
    ib = seed_ib(conn)
    result = run([ib_daily, ib_daily_matches_accruals, ib_referred_daily], DST_DAY)

    assert check_results(result) == {"ib_daily_matches_accruals": True}
    assert ib_rows(conn, TRADE_DATE) == [
        # Q: its level-2 share of d1.
        (ib.parent, "USD", 1, 0, D("1.50")),
        # P in USD: d1 5.00, reversed -5.00, d2 0.90 = 0.90 (d4 is after the cut, d5 before
        # the start). In EUR: d3 3.00.
        (ib.child, "EUR", 1, 0, D("3.00")),
        (ib.child, "USD", 2, 1, D("0.90")),
    ]
    # B traded d1 + d2 + d3 = 2 + 0.3 + 0.1 = 2.4 lots; E's demo deal does not count, and Q
    # referred nobody directly.
    assert referred_rows(conn, TRADE_DATE) == [(ib.child, 1, D("2.4"))]


def test_ib_daily_the_next_day(conn: psycopg.Connection[Any], run: Runner) -> None:
    ib = seed_ib(conn)
    run([ib_daily, ib_daily_matches_accruals, ib_referred_daily], NEXT_DAY)

    assert ib_rows(conn, NEXT_TRADE_DATE) == [(ib.child, "USD", 1, 0, D("7.00"))]
    assert referred_rows(conn, NEXT_TRADE_DATE) == [(ib.child, 1, D(1))]


def test_the_ib_check_fails_on_corrupted_rows(conn: psycopg.Connection[Any], run: Runner) -> None:
    seed_ib(conn)
    # A writer bug, planted: a reversal's sign lost on one row.
    conn.execute(
        """CREATE FUNCTION corrupt() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               IF NEW.reversals > 0 THEN NEW.amount := NEW.amount + 10; END IF;
               RETURN NEW;
           END $$;
           CREATE TRIGGER corrupt BEFORE INSERT ON reports.ib_daily
               FOR EACH ROW EXECUTE FUNCTION corrupt();"""
    )
    result = run([ib_daily, ib_daily_matches_accruals], DST_DAY, ok=False)

    assert check_results(result) == {"ib_daily_matches_accruals": False}
    assert not result.success


def test_the_ib_check_fails_on_a_missing_partner(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    ib = seed_ib(conn)
    conn.execute(
        f"""CREATE FUNCTION corrupt() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.ib_partner_id = {ib.parent} THEN RETURN NULL; END IF; RETURN NEW; END $$;
            CREATE TRIGGER corrupt BEFORE INSERT ON reports.ib_daily
                FOR EACH ROW EXECUTE FUNCTION corrupt();"""
    )
    result = run([ib_daily, ib_daily_matches_accruals], DST_DAY, ok=False)

    assert check_results(result) == {"ib_daily_matches_accruals": False}


def seed_prop(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    x = m.prop_product(conn, "two-step-100k", D("100.00"))
    y = m.prop_product(conn, "two-step-200k", D("250.00"))
    trader = s.client(conn)

    def challenge(
        product: int, purchased: datetime, phases: list[tuple[str, datetime, datetime | None]],
        status: str = "active", ended: datetime | None = None,
    ) -> None:  # fmt: skip
        ch = m.prop_challenge(conn, product, trader, purchased, status=status, ended_at=ended)
        for phase_no, (phase_status, started, phase_ended) in enumerate(phases, 1):
            acc = s.account(conn, trader, group="demo-usd")
            m.prop_phase(conn, ch, phase_no, acc.id, started, status=phase_status,
                         ended_at=phase_ended)  # fmt: skip

    # ch1: bought in the day, in its first phase.
    challenge(x, at(7, 10), [("active", at(7, 10), None)])
    # ch2: verification passed in the day (19:00), funded since.
    challenge(x, at(1, 10), [
        ("passed", at(1, 10), at(4, 12)),
        ("passed", at(4, 12), at(9, 19)),
        ("active", at(9, 19), None),
    ], status="funded")  # fmt: skip
    # ch3: breached in the day; ch5: breached before it.
    challenge(x, at(2, 10), [("breached", at(2, 10), at(8, 13))], "failed", at(8, 13))
    challenge(x, at(20, 10, month=2), [("breached", at(20, 10, month=2), at(5, 10))],
              "failed", at(5, 10))  # fmt: skip
    # ch4: bought 30 minutes after the cut.
    challenge(x, at(9, 21, 30), [("active", at(9, 21, 30), None)])
    # ch6: the other product, bought in the day.
    challenge(y, at(8, 8), [("active", at(8, 8), None)])
    return x, y


def prop_rows(conn: psycopg.Connection[Any], trade_date: date) -> list[tuple[Any, ...]]:
    return conn.execute(
        """SELECT prop_product_id, currency, purchased, fees, active, passed, breached, funded
           FROM reports.prop_daily WHERE trade_date = %s ORDER BY prop_product_id""",
        (trade_date,),
    ).fetchall()


def test_prop_daily_across_the_dst_change(conn: psycopg.Connection[Any], run: Runner) -> None:
    x, y = seed_prop(conn)
    run([prop_daily], DST_DAY)

    assert prop_rows(conn, TRADE_DATE) == [
        # X: bought ch1 (fee 100); running at the cut ch1 and ch2 (ch3 and ch5 ended, ch4 not
        # yet bought); ch2's verification passed, ch3 breached; ch2 funded.
        (x, "USD", 1, D(100), 2, 1, 1, 1),
        (y, "USD", 1, D(250), 1, 0, 0, 0),
    ]


def test_prop_daily_the_next_day(conn: psycopg.Connection[Any], run: Runner) -> None:
    x, y = seed_prop(conn)
    run([prop_daily], NEXT_DAY)

    assert prop_rows(conn, NEXT_TRADE_DATE) == [
        # X: ch4 bought; running ch1, ch2, ch4; ch2 still funded.
        (x, "USD", 1, D(100), 3, 0, 0, 1),
        (y, "USD", 0, D(0), 1, 0, 0, 0),
    ]


def test_a_rerun_replaces_the_day(conn: psycopg.Connection[Any], run: Runner) -> None:
    seed_prop(conn)
    seed_ib(conn)
    selection = [ib_daily, ib_referred_daily, prop_daily]
    run(selection, DST_DAY)
    run(selection, DST_DAY)

    counts = [
        s.one(conn, f"SELECT count(*) FROM reports.{table} WHERE trade_date = %s", (TRADE_DATE,))
        for table in ("ib_daily", "ib_referred_daily", "prop_daily")
    ]
    assert counts == [3, 1, 2]
