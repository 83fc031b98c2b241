"""Candles kept by the tick writer on plain PostgreSQL equal candles computed by polars."""

from __future__ import annotations

import redis

from ingest.ticks import drain, tick_writer
from ingest.writer import WriterOptions
from tests.integration.ingest.support import assert_candles_match, candle_scenario, publish
from warehouse.db import connect


def test_rollup_candles_follow_the_ticks_including_late_ones(
    db_url: str, redis_client: redis.Redis
) -> None:
    on_time, late = candle_scenario()
    with connect(db_url, autocommit=True) as conn:
        writer = tick_writer(conn, redis_client, "w", WriterOptions(batch_entries=5))
        publish(redis_client, [on_time[i : i + 40] for i in range(0, len(on_time), 40)])
        drain(writer)
        assert_candles_match(conn, on_time)

        publish(redis_client, [late[i : i + 7] for i in range(0, len(late), 7)])
        drain(writer)
        assert_candles_match(conn, on_time + late)
        queued = conn.execute("SELECT count(*) FROM candle_refresh_queue").fetchone()
        assert queued == (0,)
