"""The warehouse migrations on real TimescaleDB: the timescale path is chosen, ticks, deals,
CRM events and the audit log are hypertables, candles are continuous aggregates that answer
read_candles after refresh_candles, ticks compress, and everything downgrades cleanly.

The server serves one session at a time: every connection here is closed before the next
one (Alembic's included) opens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from warehouse import migrate
from warehouse.candles import read_candles, refresh_candles
from warehouse.seed import seed

T0 = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def _ticks(conn: psycopg.Connection[Any], *ticks: tuple[float, str, float, float]) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO ticks (time, symbol, source, bid, ask) VALUES (%s, 'EURUSD', %s, %s, %s)",
            [(T0 + timedelta(seconds=s), source, bid, ask) for s, source, bid, ask in ticks],
        )


def test_migrations_take_the_timescale_path(timescale_db_url: str) -> None:
    migrate.upgrade(timescale_db_url)
    assert migrate.current(timescale_db_url) == migrate.head()
    with _connect(timescale_db_url) as conn:
        meta = dict(conn.execute("SELECT key, value FROM warehouse_meta").fetchall())
        hypertables = {
            name
            for (name,) in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables"
            )
        }
        aggregates = dict(
            conn.execute(
                """SELECT view_name, materialized_only
                   FROM timescaledb_information.continuous_aggregates"""
            ).fetchall()
        )
        jobs = set(
            conn.execute(
                """SELECT proc_name, coalesce(hypertable_name, '')
                   FROM timescaledb_information.jobs WHERE proc_schema = '_timescaledb_functions'"""
            ).fetchall()
        )
        compression = conn.execute(
            """SELECT attname, segmentby_column_index, orderby_column_index
               FROM timescaledb_information.compression_settings
               WHERE hypertable_name = 'ticks' ORDER BY attname"""
        ).fetchall()
    assert meta["storage_path"] == "timescale"
    assert meta["candles"] == "continuous_aggregate"
    assert meta["timescale_community"] == "true"
    assert {"ticks", "deals", "crm_events", "audit_log"} <= hypertables
    assert aggregates == {"candles_1m": True, "candles_1h": True, "candles_1d": True}
    assert {proc for proc, _ in jobs} >= {
        "policy_refresh_continuous_aggregate",
        "policy_compression",
        "policy_retention",
    }
    assert ("policy_compression", "ticks") in jobs
    assert compression == [("source", 2, None), ("symbol", 1, None), ("time", None, 1)]


def test_candle_aggregates_answer_read_candles_after_refresh(timescale_db_url: str) -> None:
    migrate.upgrade(timescale_db_url)
    with _connect(timescale_db_url) as conn:
        _ticks(
            conn,
            (5, "lp-alpha", 1.1000, 1.1002),
            (20, "lp-alpha", 1.1010, 1.1012),
            (30, "lp-beta", 1.0990, 1.0995),
            (45, "lp-alpha", 1.0995, 1.0997),
            (61, "lp-alpha", 1.1020, 1.1022),
        )
        window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
        assert read_candles(conn, "EURUSD", "1m", *window) == []
        refresh_candles(conn, T0, T0 + timedelta(minutes=2))

        minutes = read_candles(conn, "EURUSD", "1m", *window, source="lp-alpha")
        assert [
            (c.bucket, c.bid_open, c.bid_high, c.bid_low, c.bid_close, c.tick_count)
            for c in minutes
        ] == [
            (T0, 1.1000, 1.1010, 1.0995, 1.0995, 3),
            (T0 + timedelta(minutes=1), 1.1020, 1.1020, 1.1020, 1.1020, 1),
        ]
        assert [c.source for c in read_candles(conn, "EURUSD", "1m", *window)] == [
            "lp-alpha",
            "lp-beta",
            "lp-alpha",
        ]
        (hour,) = read_candles(conn, "EURUSD", "1h", *window, source="lp-alpha")
        assert (hour.bucket, hour.bid_open, hour.bid_high, hour.bid_close, hour.tick_count) == (
            T0,
            1.1000,
            1.1020,
            1.1020,
            4,
        )
        (day,) = read_candles(conn, "EURUSD", "1d", *window, source="lp-beta")
        assert (day.bucket, day.ask_open, day.tick_count) == (T0.replace(hour=0), 1.0995, 1)

        # A late tick corrects its minute and, through the hierarchy, its hour.
        _ticks(conn, (1, "lp-alpha", 1.0900, 1.0902))
        refresh_candles(conn, T0, T0 + timedelta(seconds=2))
        first = read_candles(conn, "EURUSD", "1m", *window, source="lp-alpha")[0]
        assert (first.bid_open, first.bid_low, first.tick_count) == (1.0900, 1.0900, 4)
        (hour,) = read_candles(conn, "EURUSD", "1h", *window, source="lp-alpha")
        assert (hour.bid_open, hour.tick_count) == (1.0900, 5)


def test_tick_chunks_compress_and_stay_readable(timescale_db_url: str) -> None:
    migrate.upgrade(timescale_db_url)
    with _connect(timescale_db_url) as conn:
        _ticks(conn, (5, "lp-alpha", 1.1, 1.1002), (3600 * 30, "lp-alpha", 1.2, 1.2002))
        job = conn.execute(
            """SELECT job_id FROM timescaledb_information.jobs
               WHERE proc_name = 'policy_compression' AND hypertable_name = 'ticks'"""
        ).fetchone()
        assert job is not None
        # No background workers here: run the policy's job by hand. The ticks are from 2025,
        # older than its 7 days, so both chunks compress.
        conn.execute("CALL run_job(%s)", (job[0],))
        compressed = conn.execute(
            """SELECT count(*) FILTER (WHERE is_compressed), count(*)
               FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks'"""
        ).fetchone()
        assert compressed == (2, 2)
        rows = conn.execute("SELECT bid FROM ticks ORDER BY time").fetchall()
        assert rows == [(1.1,), (1.2,)]


def test_seeded_warehouse_downgrades_to_an_empty_schema(timescale_db_url: str) -> None:
    migrate.upgrade(timescale_db_url)
    with _connect(timescale_db_url) as conn:
        seed(conn)
        _ticks(conn, (5, "lp-alpha", 1.1, 1.1002))
        conn.execute(
            """INSERT INTO audit_log (actor_type, actor_id, action, entity_type, entity_id)
               VALUES ('system', 'test', 'seed', 'brand', 'demo')"""
        )
        assert conn.execute("SELECT audit_log_first_broken()").fetchone() == (None,)
    migrate.downgrade(timescale_db_url)
    assert migrate.current(timescale_db_url) is None
    with _connect(timescale_db_url) as conn:
        left = conn.execute(
            """SELECT relname FROM pg_class
               WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE 'alembic%'"""
        ).fetchall()
        extension = conn.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
    assert left == []
    assert extension == (0,)  # the migration created it, so the downgrade removed it
    migrate.upgrade(timescale_db_url)
    assert migrate.current(timescale_db_url) == migrate.head()
