"""Market data: ticks (quotes per source) and 1-minute, 1-hour and 1-day bid/ask candles.

Three shapes behind the same relation names and columns:

* TimescaleDB, Timescale license: ``ticks`` is a hypertable with compression and retention
  policies; candles are hierarchical continuous aggregates with refresh policies.
* TimescaleDB, Apache license: a hypertable without policies; candles as on plain PostgreSQL.
* Plain PostgreSQL: ``ticks`` is range-partitioned by month with a default partition and a
  BRIN index (cheap to maintain under COPY); candles are rollup tables that the SQL function
  ``refresh_candles(from, to)`` recomputes for one window.

Ticks carry no foreign key to instruments: the ingest path must run at the speed of COPY,
and imported history may name symbols the broker no longer lists.

Revision ID: 0007_market_data
Revises: 0006_partners_prop_crm_audit
Create Date: 2025-11-21
"""

from __future__ import annotations

from warehouse.migrations.ddl import community_features, execute, set_meta, storage_path

revision = "0007_market_data"
down_revision = "0006_partners_prop_crm_audit"
branch_labels = None
depends_on = None

TICKS_COMPRESS_AFTER = "7 days"
TICKS_RETAIN_FOR = "5 years"

_TICK_COLUMNS = """
    time       timestamptz NOT NULL,
    symbol     text NOT NULL,
    -- An LP code ('lp-alpha') for LP quotes, 'client:<group code>' for published prices.
    source     text NOT NULL,
    -- Quotes may be binary floats (engineering.md); NaN and infinities are refused.
    bid        double precision NOT NULL CONSTRAINT ticks_bid_positive
                   CHECK (bid > 0 AND bid < 'Infinity'),
    ask        double precision NOT NULL CONSTRAINT ticks_ask_positive
                   CHECK (ask > 0 AND ask < 'Infinity'),
    bid_volume double precision CONSTRAINT ticks_bid_volume_valid
                   CHECK (bid_volume >= 0 AND bid_volume < 'Infinity'),
    ask_volume double precision CONSTRAINT ticks_ask_volume_valid
                   CHECK (ask_volume >= 0 AND ask_volume < 'Infinity')
"""

_CANDLE_COLUMNS = """
    bucket     timestamptz NOT NULL,
    symbol     text NOT NULL,
    source     text NOT NULL,
    bid_open   double precision NOT NULL,
    bid_high   double precision NOT NULL,
    bid_low    double precision NOT NULL,
    bid_close  double precision NOT NULL,
    ask_open   double precision NOT NULL,
    ask_high   double precision NOT NULL,
    ask_low    double precision NOT NULL,
    ask_close  double precision NOT NULL,
    tick_count bigint NOT NULL,
    PRIMARY KEY (symbol, source, bucket)
"""

_CANDLE_LEVELS = (("candles_1m", "1 minute"), ("candles_1h", "1 hour"), ("candles_1d", "1 day"))


def _timescale_ticks() -> None:
    execute(
        f"""
        CREATE TABLE ticks ({_TICK_COLUMNS});
        SELECT create_hypertable('ticks', by_range('time', INTERVAL '1 day'));
        """
    )
    if community_features():
        execute(
            f"""
            ALTER TABLE ticks SET (timescaledb.compress,
                                   timescaledb.compress_segmentby = 'symbol, source',
                                   timescaledb.compress_orderby = 'time');
            SELECT add_compression_policy('ticks', INTERVAL '{TICKS_COMPRESS_AFTER}');
            SELECT add_retention_policy('ticks', INTERVAL '{TICKS_RETAIN_FOR}');
            """
        )


def _plain_ticks() -> None:
    execute(
        f"""
        CREATE TABLE ticks ({_TICK_COLUMNS}) PARTITION BY RANGE (time);
        CREATE TABLE ticks_default PARTITION OF ticks DEFAULT;
        CREATE INDEX ticks_time_brin ON ticks USING brin (time);

        -- Monthly partitions (UTC) covering [from_time, to_time); rows already parked in the
        -- default partition for a new month are moved into it. Returns partitions created.
        CREATE FUNCTION create_tick_partitions(from_time timestamptz, to_time timestamptz)
            RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            month_start timestamptz :=
                date_trunc('month', from_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            month_end timestamptz;
            partition_name text;
            created integer := 0;
        BEGIN
            WHILE month_start < to_time LOOP
                month_end := month_start + INTERVAL '1 month';
                partition_name := 'ticks_p' || to_char(month_start AT TIME ZONE 'UTC', 'YYYYMM');
                IF to_regclass(partition_name) IS NULL THEN
                    EXECUTE format('CREATE TABLE %I (LIKE ticks INCLUDING DEFAULTS '
                                   'INCLUDING CONSTRAINTS)', partition_name);
                    EXECUTE format('WITH moved AS (DELETE FROM ticks_default '
                                   'WHERE time >= $1 AND time < $2 RETURNING *) '
                                   'INSERT INTO %I SELECT * FROM moved', partition_name)
                        USING month_start, month_end;
                    EXECUTE format('ALTER TABLE ticks ATTACH PARTITION %I '
                                   'FOR VALUES FROM (%L) TO (%L)',
                                   partition_name, month_start, month_end);
                    created := created + 1;
                END IF;
                month_start := month_end;
            END LOOP;
            RETURN created;
        END $$;

        -- Retention on plain PostgreSQL: drop whole months that end on or before the cutoff.
        CREATE FUNCTION drop_tick_partitions(older_than timestamptz)
            RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            part record;
            dropped integer := 0;
        BEGIN
            FOR part IN
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'ticks'::regclass AND c.relname ~ '^ticks_p[0-9]{{6}}$'
            LOOP
                IF (to_date(substr(part.relname, 8), 'YYYYMM')::timestamp AT TIME ZONE 'UTC')
                       + INTERVAL '1 month' <= older_than THEN
                    EXECUTE format('DROP TABLE %I', part.relname);
                    dropped := dropped + 1;
                END IF;
            END LOOP;
            RETURN dropped;
        END $$;

        SELECT create_tick_partitions(now() - INTERVAL '1 month', now() + INTERVAL '3 months');
        """
    )


def _continuous_aggregates() -> None:
    execute(
        """
        CREATE MATERIALIZED VIEW candles_1m WITH (timescaledb.continuous,
                                                  timescaledb.materialized_only = true) AS
        SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, symbol, source,
               first(bid, time) AS bid_open, max(bid) AS bid_high,
               min(bid) AS bid_low, last(bid, time) AS bid_close,
               first(ask, time) AS ask_open, max(ask) AS ask_high,
               min(ask) AS ask_low, last(ask, time) AS ask_close,
               count(*) AS tick_count
        FROM ticks
        GROUP BY time_bucket(INTERVAL '1 minute', time), symbol, source
        WITH NO DATA;
        """
    )
    for (name, width), (parent, _) in zip(_CANDLE_LEVELS[1:], _CANDLE_LEVELS[:-1], strict=True):
        execute(
            f"""
            CREATE MATERIALIZED VIEW {name} WITH (timescaledb.continuous,
                                                 timescaledb.materialized_only = true) AS
            SELECT time_bucket(INTERVAL '{width}', bucket) AS bucket, symbol, source,
                   first(bid_open, bucket) AS bid_open, max(bid_high) AS bid_high,
                   min(bid_low) AS bid_low, last(bid_close, bucket) AS bid_close,
                   first(ask_open, bucket) AS ask_open, max(ask_high) AS ask_high,
                   min(ask_low) AS ask_low, last(ask_close, bucket) AS ask_close,
                   sum(tick_count)::bigint AS tick_count
            FROM {parent}
            GROUP BY time_bucket(INTERVAL '{width}', bucket), symbol, source
            WITH NO DATA;
            """
        )
    execute(
        """
        SELECT add_continuous_aggregate_policy('candles_1m', start_offset => INTERVAL '1 day',
            end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
        SELECT add_continuous_aggregate_policy('candles_1h', start_offset => INTERVAL '7 days',
            end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');
        SELECT add_continuous_aggregate_policy('candles_1d', start_offset => INTERVAL '60 days',
            end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');
        """
    )


def _rollup_level_sql(name: str, width: str, parent: str | None) -> str:
    """Recompute one level's buckets in [lo, hi): upsert what the source holds, delete the rest."""
    if parent is None:
        source_rows = f"""
            SELECT date_bin(INTERVAL '{width}', time, origin) AS bucket, symbol, source,
                   (array_agg(bid ORDER BY time))[1], max(bid), min(bid),
                   (array_agg(bid ORDER BY time DESC))[1],
                   (array_agg(ask ORDER BY time))[1], max(ask), min(ask),
                   (array_agg(ask ORDER BY time DESC))[1],
                   count(*)
            FROM ticks WHERE time >= lo AND time < hi"""
    else:
        source_rows = f"""
            SELECT date_bin(INTERVAL '{width}', bucket, origin) AS bucket, symbol, source,
                   (array_agg(bid_open ORDER BY bucket))[1], max(bid_high), min(bid_low),
                   (array_agg(bid_close ORDER BY bucket DESC))[1],
                   (array_agg(ask_open ORDER BY bucket))[1], max(ask_high), min(ask_low),
                   (array_agg(ask_close ORDER BY bucket DESC))[1],
                   sum(tick_count)::bigint
            FROM {parent} WHERE bucket >= lo AND bucket < hi"""
    columns = (
        "bid_open, bid_high, bid_low, bid_close, ask_open, ask_high, ask_low, ask_close, tick_count"
    )
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns.split(", "))
    return f"""
        lo := date_bin(INTERVAL '{width}', window_start, origin);
        hi := date_bin(INTERVAL '{width}', window_end - INTERVAL '1 microsecond', origin)
              + INTERVAL '{width}';
        WITH fresh AS (
            INSERT INTO {name} (bucket, symbol, source, {columns})
            {source_rows}
            GROUP BY 1, 2, 3
            ON CONFLICT (symbol, source, bucket) DO UPDATE SET {updates}
            RETURNING bucket, symbol, source)
        DELETE FROM {name} c WHERE c.bucket >= lo AND c.bucket < hi
            AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.bucket = c.bucket
                            AND f.symbol = c.symbol AND f.source = c.source);
    """


def _rollup_tables() -> None:
    tables = "".join(f"CREATE TABLE {name} ({_CANDLE_COLUMNS});\n" for name, _ in _CANDLE_LEVELS)
    parents: tuple[str | None, ...] = (None, "candles_1m", "candles_1h")
    levels = "".join(
        _rollup_level_sql(name, width, parent)
        for (name, width), parent in zip(_CANDLE_LEVELS, parents, strict=True)
    )
    execute(
        f"""
        {tables}
        CREATE INDEX candles_1m_bucket_idx ON candles_1m (bucket);
        CREATE INDEX candles_1h_bucket_idx ON candles_1h (bucket);
        CREATE INDEX candles_1d_bucket_idx ON candles_1d (bucket);

        -- Recomputes the buckets touching [window_start, window_end) at every level, minute
        -- candles from ticks, hours from minutes, days from hours (UTC buckets).
        CREATE FUNCTION refresh_candles(window_start timestamptz, window_end timestamptz)
            RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            origin constant timestamptz := '2000-01-03 00:00:00+00';
            lo timestamptz;
            hi timestamptz;
        BEGIN
            IF window_end <= window_start THEN
                RETURN;
            END IF;
            {levels}
        END $$;
        """
    )


def upgrade() -> None:
    if storage_path() == "timescale":
        _timescale_ticks()
    else:
        _plain_ticks()
    if community_features():
        _continuous_aggregates()
        set_meta("candles", "continuous_aggregate")
    else:
        _rollup_tables()
        set_meta("candles", "rollup")


def downgrade() -> None:
    if community_features():
        execute(
            """
            DROP MATERIALIZED VIEW candles_1d;
            DROP MATERIALIZED VIEW candles_1h;
            DROP MATERIALIZED VIEW candles_1m;
            """
        )
    else:
        execute(
            """
            DROP FUNCTION refresh_candles(timestamptz, timestamptz);
            DROP TABLE candles_1d;
            DROP TABLE candles_1h;
            DROP TABLE candles_1m;
            """
        )
    if storage_path() == "plain":
        execute(
            """
            DROP FUNCTION drop_tick_partitions(timestamptz);
            DROP FUNCTION create_tick_partitions(timestamptz, timestamptz);
            """
        )
    execute("DROP TABLE ticks; DELETE FROM warehouse_meta WHERE key = 'candles';")
