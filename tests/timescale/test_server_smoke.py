"""The TimescaleDB test server does what the warehouse needs, through psycopg 3 and SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.timescale.timescale_server import TimescaleServer

MINUTE = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
TICKS_DDL = """
    CREATE TABLE ticks (
        time timestamptz NOT NULL,
        symbol text NOT NULL,
        source text NOT NULL,
        bid numeric(18, 8) NOT NULL,
        ask numeric(18, 8) NOT NULL
    )
"""
# Two symbols over two minutes, deliberately inserted out of time order.
TICKS = [
    (MINUTE + timedelta(seconds=30), "EURUSD", "lp-a", Decimal("1.08010"), Decimal("1.08020")),
    (MINUTE + timedelta(seconds=5), "EURUSD", "lp-a", Decimal("1.08000"), Decimal("1.08012")),
    (MINUTE + timedelta(seconds=50), "EURUSD", "lp-b", Decimal("1.07990"), Decimal("1.08001")),
    (MINUTE + timedelta(seconds=20), "EURUSD", "lp-b", Decimal("1.08030"), Decimal("1.08041")),
    (MINUTE + timedelta(seconds=70), "EURUSD", "lp-a", Decimal("1.08100"), Decimal("1.08110")),
    (MINUTE + timedelta(seconds=10), "GBPUSD", "lp-a", Decimal("1.26500"), Decimal("1.26520")),
]
CANDLES_DDL = """
    CREATE MATERIALIZED VIEW ticks_1m WITH (timescaledb.continuous) AS
    SELECT time_bucket('1 minute', time) AS bucket, symbol,
           first(bid, time) AS bid_open, max(bid) AS bid_high,
           min(bid) AS bid_low, last(bid, time) AS bid_close,
           first(ask, time) AS ask_open, max(ask) AS ask_high,
           min(ask) AS ask_low, last(ask, time) AS ask_close,
           count(*) AS tick_count
    FROM ticks GROUP BY bucket, symbol
    WITH NO DATA
"""
CANDLES_QUERY = "SELECT * FROM ticks_1m ORDER BY bucket, symbol"


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    # Continuous aggregate refreshes and run_job refuse to run inside a transaction block.
    return psycopg.connect(url, autocommit=True)


def create_ticks_hypertable(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    conn.execute(TICKS_DDL)
    conn.execute("SELECT create_hypertable('ticks', by_range('time', INTERVAL '1 day'))")


def load_ticks(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ticks (time, symbol, source, bid, ask) VALUES (%s, %s, %s, %s, %s)",
            TICKS,
        )


def test_license_allows_compression_and_policies(timescale_db_url: str) -> None:
    with connect(timescale_db_url) as conn:
        conn.execute("CREATE EXTENSION timescaledb")
        row = conn.execute(
            "SELECT current_setting('timescaledb.license'), extversion"
            " FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()

    assert row == ("timescale", "2.23.0-dev")


def test_hypertable_splits_rows_into_chunks(timescale_db_url: str) -> None:
    with connect(timescale_db_url) as conn:
        create_ticks_hypertable(conn)
        load_ticks(conn)
        conn.execute(
            "INSERT INTO ticks VALUES (%s, 'EURUSD', 'lp-a', 1.1, 1.2)",
            [MINUTE + timedelta(days=3)],
        )
        chunks = conn.execute("SELECT count(*) FROM show_chunks('ticks')").fetchone()
        dimension = conn.execute(
            "SELECT column_name FROM timescaledb_information.dimensions"
            " WHERE hypertable_name = 'ticks'"
        ).fetchone()

    assert chunks == (2,)
    assert dimension == ("time",)


def test_continuous_aggregate_refresh_answers_bid_ask_candles(timescale_db_url: str) -> None:
    with connect(timescale_db_url) as conn:
        create_ticks_hypertable(conn)
        conn.execute(CANDLES_DDL)
        load_ticks(conn)
        before_refresh = conn.execute(CANDLES_QUERY).fetchall()
        conn.execute("CALL refresh_continuous_aggregate('ticks_1m', NULL, NULL)")
        candles = conn.execute(CANDLES_QUERY).fetchall()

    assert before_refresh == []
    assert candles == [
        (
            MINUTE,
            "EURUSD",
            *(Decimal("1.08000"), Decimal("1.08030"), Decimal("1.07990"), Decimal("1.07990")),
            *(Decimal("1.08012"), Decimal("1.08041"), Decimal("1.08001"), Decimal("1.08001")),
            4,
        ),
        (
            MINUTE,
            "GBPUSD",
            *(Decimal("1.26500"), Decimal("1.26500"), Decimal("1.26500"), Decimal("1.26500")),
            *(Decimal("1.26520"), Decimal("1.26520"), Decimal("1.26520"), Decimal("1.26520")),
            1,
        ),
        (
            MINUTE + timedelta(minutes=1),
            "EURUSD",
            *(Decimal("1.08100"), Decimal("1.08100"), Decimal("1.08100"), Decimal("1.08100")),
            *(Decimal("1.08110"), Decimal("1.08110"), Decimal("1.08110"), Decimal("1.08110")),
            1,
        ),
    ]


def test_compressed_chunks_read_back_the_same_rows(timescale_db_url: str) -> None:
    query = "SELECT * FROM ticks ORDER BY time, symbol"
    with connect(timescale_db_url) as conn:
        create_ticks_hypertable(conn)
        load_ticks(conn)
        before = conn.execute(query).fetchall()
        conn.execute(
            "ALTER TABLE ticks SET (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'symbol', timescaledb.compress_orderby = 'time')"
        )
        conn.execute("SELECT compress_chunk(c) FROM show_chunks('ticks') AS c")
        compressed = conn.execute(
            "SELECT bool_and(is_compressed) FROM timescaledb_information.chunks"
            " WHERE hypertable_name = 'ticks'"
        ).fetchone()
        after = conn.execute(query).fetchall()

    assert compressed == (True,)
    assert len(before) == len(TICKS)
    assert after == before


def test_policies_create_jobs_that_run_on_demand(timescale_db_url: str) -> None:
    recent = datetime.now(UTC).replace(microsecond=0)
    with connect(timescale_db_url) as conn:
        create_ticks_hypertable(conn)
        load_ticks(conn)
        conn.execute("INSERT INTO ticks VALUES (%s, 'EURUSD', 'lp-a', 1.1, 1.2)", [recent])
        conn.execute("ALTER TABLE ticks SET (timescaledb.compress)")
        compression_job = conn.execute(
            "SELECT add_compression_policy('ticks', compress_after => INTERVAL '7 days')"
        ).fetchone()
        retention_job = conn.execute(
            "SELECT add_retention_policy('ticks', drop_after => INTERVAL '30 days')"
        ).fetchone()
        assert compression_job is not None
        assert retention_job is not None
        jobs = conn.execute(
            "SELECT proc_name FROM timescaledb_information.jobs"
            " WHERE hypertable_name = 'ticks' ORDER BY proc_name"
        ).fetchall()

        conn.execute("CALL run_job(%s)", [compression_job[0]])
        compressed = conn.execute(
            "SELECT range_start < now() - INTERVAL '7 days', is_compressed"
            " FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks'"
            " ORDER BY range_start"
        ).fetchall()
        conn.execute("CALL run_job(%s)", [retention_job[0]])
        remaining = conn.execute("SELECT time FROM ticks").fetchall()

    assert jobs == [("policy_compression",), ("policy_retention",)]
    assert compressed == [(True, True), (False, False)]
    assert remaining == [(recent,)]


def test_binary_copy_loads_rows(timescale_db_url: str) -> None:
    with connect(timescale_db_url) as conn:
        create_ticks_hypertable(conn)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY ticks (time, symbol, source, bid, ask) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["timestamptz", "text", "text", "numeric", "numeric"])
            for tick in TICKS:
                copy.write_row(tick)
        loaded = conn.execute("SELECT * FROM ticks ORDER BY time, symbol").fetchall()

    assert loaded == sorted(TICKS, key=lambda tick: (tick[0], tick[1]))


def test_copy_into_a_missing_table_is_an_error_not_a_crash(timescale_db_url: str) -> None:
    with connect(timescale_db_url) as conn:
        with (
            pytest.raises(psycopg.errors.UndefinedTable),
            conn.cursor() as cur,
            cur.copy("COPY no_such_table FROM STDIN") as copy,
        ):
            copy.write_row((1,))
        alive = conn.execute("SELECT 1").fetchone()

    assert alive == (1,)


def test_copy_to_stdout_streams_rows(timescale_db_url: str) -> None:
    with connect(timescale_db_url) as conn:
        create_ticks_hypertable(conn)
        load_ticks(conn)
        with (
            conn.cursor() as cur,
            cur.copy("COPY (SELECT symbol, bid FROM ticks ORDER BY time) TO STDOUT") as copy,
        ):
            rows = [bytes(chunk) for chunk in copy]

    assert b"".join(rows).splitlines()[0] == b"EURUSD\t1.08000000"


def run_failing_migration(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE rolled_back (id int)"))
        conn.execute(sa.text("SELECT no_such_function()"))


def test_sqlalchemy_runs_transactional_ddl(timescale_db_url: str) -> None:
    engine = sa.create_engine(
        timescale_db_url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool
    )
    try:
        with engine.begin() as conn:  # an Alembic migration runs like this
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
            conn.execute(sa.text(TICKS_DDL))
            conn.execute(sa.text("SELECT create_hypertable('ticks', by_range('time'))"))
        with pytest.raises(sa.exc.ProgrammingError):
            run_failing_migration(engine)
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = 'public' ORDER BY table_name"
                )
            ).all()
            hypertables = conn.execute(
                sa.text("SELECT hypertable_name FROM timescaledb_information.hypertables")
            ).all()
    finally:
        engine.dispose()

    assert [t for (t,) in tables] == ["ticks"]
    assert [h for (h,) in hypertables] == ["ticks"]


def test_connections_take_turns_and_keep_their_prepared_statements(
    timescale_db_url: str,
) -> None:
    # psycopg prepares a query from its 5th run, naming it _pg3_0 in every connection.
    with connect(timescale_db_url) as first, connect(timescale_db_url) as second:
        for n in range(8):
            assert first.execute("SELECT %s::int + 1", [n]).fetchone() == (n + 1,)
            assert second.execute("SELECT %s::int * 2", [n]).fetchone() == (n * 2,)


def test_a_dropped_connection_leaves_no_open_transaction(timescale_db_url: str) -> None:
    abandoned = psycopg.connect(timescale_db_url)  # not autocommit: holds a transaction
    abandoned.execute("CREATE TABLE never_committed (id int)")
    abandoned.close()

    with connect(timescale_db_url) as conn:
        table = conn.execute("SELECT to_regclass('never_committed')").fetchone()

    assert table == (None,)


def test_a_new_connection_starts_from_default_settings(timescale_db_url: str) -> None:
    with connect(timescale_db_url) as conn:
        conn.execute("CREATE TABLE visible (id int)")
        conn.execute("CREATE TEMP TABLE scratch (id int)")
        conn.execute("SET search_path TO pg_catalog")
        conn.execute("SET TIME ZONE 'America/New_York'")

    with connect(timescale_db_url) as conn:
        settings = conn.execute(
            "SELECT current_setting('search_path'), current_setting('TimeZone'),"
            " to_regclass('visible') IS NOT NULL, to_regclass('pg_temp.scratch')"
        ).fetchone()

    assert settings == ("public", "GMT", True, None)


def test_server_side_cursor_fetches_in_batches(timescale_db_url: str) -> None:
    with psycopg.connect(timescale_db_url) as conn, conn.cursor(name="ticks_cursor") as cursor:
        cursor.execute("SELECT n FROM generate_series(1, 2500) AS n")
        first = cursor.fetchmany(1000)
        rest = cursor.fetchall()

    assert [n for (n,) in first] == list(range(1, 1001))
    assert [n for (n,) in rest] == list(range(1001, 2501))


def test_reset_gives_an_empty_database(
    timescale_server: TimescaleServer, timescale_db_url: str
) -> None:
    with connect(timescale_db_url) as conn:
        create_ticks_hypertable(conn)

    timescale_server.reset()

    with connect(timescale_server.url) as conn:
        tables = conn.execute("SELECT to_regclass('ticks') IS NULL").fetchone()
        extensions = conn.execute("SELECT extname FROM pg_extension ORDER BY extname").fetchall()
    assert tables == (True,)
    assert extensions == [("plpgsql",)]
