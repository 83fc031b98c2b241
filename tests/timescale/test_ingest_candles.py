"""On TimescaleDB the tick writer loads through COPY into the hypertable and refreshes the
continuous aggregates over the windows it wrote: candles equal those polars computes, late
ticks included."""

from __future__ import annotations

import redis

from ingest.ticks import drain, tick_writer
from ingest.writer import WriterOptions
from tests.integration.ingest.support import assert_candles_match, candle_scenario, publish
from warehouse.candles import uses_continuous_aggregates
from warehouse.db import connect
from warehouse.migrate import upgrade


def test_continuous_aggregates_follow_the_ticks_including_late_ones(
    timescale_db_url: str, redis_client: redis.Redis
) -> None:
    upgrade(timescale_db_url)
    on_time, late = candle_scenario()
    with connect(timescale_db_url, autocommit=True) as conn:
        assert uses_continuous_aggregates(conn)
        writer = tick_writer(conn, redis_client, "w", WriterOptions(batch_entries=25))
        publish(redis_client, [on_time[i : i + 40] for i in range(0, len(on_time), 40)])
        drain(writer)
        assert_candles_match(conn, on_time)

        publish(redis_client, [late[i : i + 7] for i in range(0, len(late), 7)])
        drain(writer)
        assert_candles_match(conn, on_time + late)
        count = conn.execute("SELECT count(*) FROM ticks").fetchone()
        assert count == (len(on_time) + len(late),)
        assert conn.execute("SELECT count(*) FROM candle_refresh_queue").fetchone() == (0,)
