"""Holiday calendars in the warehouse: the seed writes them and which instruments follow them,
staff edits survive a re-seed, and the execution service's reference data load closes the
market on every day the rows name (and only those)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from execution import contracts as c
from execution.core import Core
from execution.service.reference import load_reference
from execution.service.shard import Shard
from execution.testkit import Desk
from warehouse.seed import seed

D = Decimal
TODAY = date(2026, 3, 2)  # the seed writes 2025 to 2031


def _days(conn: psycopg.Connection[Any], code: str, year: int) -> list[date]:
    rows = conn.execute(
        """SELECT h.day FROM holidays h JOIN holiday_calendars k ON k.id = h.holiday_calendar_id
           WHERE k.code = %s AND extract(year FROM h.day) = %s ORDER BY h.day""",
        (code, year),
    ).fetchall()
    return [day for (day,) in rows]


def _calendar_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        """SELECT k.code, h.day, h.name FROM holidays h
           JOIN holiday_calendars k ON k.id = h.holiday_calendar_id ORDER BY 1, 2"""
    ).fetchall()


def _fx_order_at(conn: psycopg.Connection[Any], moment: datetime) -> bool:
    """Whether a EURUSD order fills at ``moment`` on a core built from the warehouse now."""
    reference = load_reference(conn, Shard("main").lp_prefix)
    desk = Desk(Core(reference.config))
    desk.core.add_account(1, "demo-usd", balance=D(10_000))
    desk.at(moment)
    desk.quote("EURUSD", "1.10000", "1.10002")
    reply = desk.place(1, "EURUSD", "buy", "0.1").replies[0]
    if isinstance(reply, c.Rejected):
        assert reply.code is c.RejectCode.MARKET_CLOSED, reply
        return False
    return True


def test_the_seed_writes_each_calendar_and_the_instruments_following_it(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        seed(conn, TODAY)
        rows = _calendar_rows(conn)
        seed(conn, TODAY)  # idempotent
        assert _calendar_rows(conn) == rows

        assert _days(conn, "FX", 2026) == [date(2026, 1, 1), date(2026, 12, 25)]
        assert _days(conn, "CME", 2026) == [
            date(2026, 1, 1),
            date(2026, 4, 3),  # Good Friday
            date(2026, 7, 4),  # Independence Day, a Saturday (CME moves it only from Sunday)
            date(2026, 11, 26),  # Thanksgiving
            date(2026, 12, 25),
        ]
        years = conn.execute(
            """SELECT k.code, min(y.year), max(y.year), count(*) FROM holiday_calendar_years y
               JOIN holiday_calendars k ON k.id = y.holiday_calendar_id GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        assert years == [("CME", 2025, 2031, 7), ("FX", 2025, 2031, 7)]
        assert _days(conn, "FX", 2032) == []
        following: dict[str, str | None] = dict(
            conn.execute(
                """SELECT i.symbol, k.code FROM instruments i
                   LEFT JOIN holiday_calendars k ON k.id = i.holiday_calendar_id"""
            ).fetchall()
        )
        assert following == {
            "BTCUSD": None,
            "EURUSD": "FX",
            "GBPUSD": "FX",
            "USDJPY": "FX",
            "US500": "CME",
            "XAUUSD": "CME",
        }


def test_a_holiday_staff_insert_or_delete_takes_effect_at_the_next_reference_load(
    db_url: str,
) -> None:
    wednesday = datetime(2026, 3, 4, 15, tzinfo=UTC)  # 10:00 in New York
    christmas = datetime(2026, 12, 25, 15, tzinfo=UTC)  # a Friday, 10:00 in New York
    with psycopg.connect(db_url, autocommit=True) as conn:
        seed(conn, TODAY)
        assert _fx_order_at(conn, wednesday)
        assert not _fx_order_at(conn, christmas)

        conn.execute(
            """INSERT INTO holidays (holiday_calendar_id, day, name)
               SELECT id, '2026-03-04', 'Closed by the dealing desk' FROM holiday_calendars
               WHERE code = 'FX'"""
        )
        conn.execute("DELETE FROM holidays WHERE day = '2026-12-25'")  # both calendars'

        assert not _fx_order_at(conn, wednesday)
        assert _fx_order_at(conn, christmas)
        assert _fx_order_at(conn, datetime(2026, 3, 5, 15, tzinfo=UTC))  # the next day trades

        # seeding again, also in a later year, keeps both edits
        seed(conn, TODAY)
        seed(conn, date(2027, 6, 1))
        assert not _fx_order_at(conn, wednesday)
        assert _fx_order_at(conn, christmas)
        assert _days(conn, "FX", 2032) == [date(2032, 1, 1), date(2032, 12, 25)]


def test_an_instrument_staff_take_off_a_calendar_keeps_trading_on_its_days(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        seed(conn, TODAY)
        conn.execute("UPDATE instruments SET holiday_calendar_id = NULL WHERE symbol = 'EURUSD'")
        seed(conn, TODAY)

        assert _fx_order_at(conn, datetime(2026, 12, 25, 15, tzinfo=UTC))


def test_instruments_seeded_before_calendars_existed_get_theirs_at_the_next_seed(
    seeded_db_url: str,
) -> None:
    with psycopg.connect(seeded_db_url, autocommit=True) as conn:
        # what a warehouse seeded before revision 0013 holds: instruments, no calendars
        conn.execute("UPDATE instruments SET holiday_calendar_id = NULL")
        conn.execute("DELETE FROM holiday_calendars")
        assert _fx_order_at(conn, datetime(2026, 12, 25, 15, tzinfo=UTC))

        seed(conn, TODAY)

        assert not _fx_order_at(conn, datetime(2026, 12, 25, 15, tzinfo=UTC))
