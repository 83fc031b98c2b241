"""The broker's net exposure per brand, symbol and book at the cut, from the core's position
statements: long and short lots, net lots, and the net notional in USD (signed lots x contract
size x closing price, converted from the profit currency at the cut's rate)."""

from __future__ import annotations

from typing import Any

import psycopg

from pipelines.partitions import TradingDay


def build_exposure(conn: psycopg.Connection[Any], day: TradingDay) -> int:
    params = {"trade_date": day.trade_date, "cut": day.cut}
    conn.execute("DELETE FROM reports.exposure WHERE trade_date = %(trade_date)s", params)
    conn.execute(
        """INSERT INTO reports.exposure (trade_date, brand_id, instrument_id, book, symbol,
               long_lots, short_lots, net_lots, net_usd)
           SELECT %(trade_date)s, g.brand_id, s.instrument_id, s.book, i.symbol,
                  coalesce(sum(s.volume) FILTER (WHERE s.side = 'BUY'), 0),
                  coalesce(sum(s.volume) FILTER (WHERE s.side = 'SELL'), 0),
                  sum(CASE WHEN s.side = 'BUY' THEN s.volume ELSE -s.volume END),
                  sum(CASE WHEN s.side = 'BUY' THEN s.volume ELSE -s.volume END
                      * i.contract_size * s.close_price)
                      * CASE WHEN i.profit_currency = 'USD' THEN 1 ELSE max(r.usd_rate) END
           FROM position_statements s
           JOIN trading_accounts a ON a.id = s.trading_account_id
           JOIN account_groups g ON g.id = a.account_group_id
           JOIN instruments i ON i.id = s.instrument_id
           LEFT JOIN cut_rates r ON r.cut = s.cut AND r.currency = i.profit_currency
           WHERE s.cut = %(cut)s
           GROUP BY g.brand_id, s.instrument_id, s.book, i.symbol, i.profit_currency""",
        params,
    )
    row = conn.execute(
        "SELECT count(*) FROM reports.exposure WHERE trade_date = %(trade_date)s", params
    ).fetchone()
    return int(row[0]) if row else 0


def exposure_difference(conn: psycopg.Connection[Any], day: TradingDay) -> list[tuple[Any, ...]]:
    """(symbol, book, reported net lots, stated net lots) where the two differ."""
    return conn.execute(
        """WITH stated AS (
               SELECT instrument_id, book,
                      sum(CASE WHEN side = 'BUY' THEN volume ELSE -volume END) AS net
               FROM position_statements WHERE cut = %(cut)s GROUP BY instrument_id, book),
           reported AS (
               SELECT instrument_id, book, sum(net_lots) AS net FROM reports.exposure
               WHERE trade_date = %(trade_date)s GROUP BY instrument_id, book)
           SELECT i.symbol, k.book, r.net, s.net
           FROM stated s FULL JOIN reported r USING (instrument_id, book)
           CROSS JOIN LATERAL (SELECT coalesce(s.instrument_id, r.instrument_id) AS iid,
                                      coalesce(s.book, r.book) AS book) k
           JOIN instruments i ON i.id = k.iid
           WHERE r.net IS DISTINCT FROM s.net""",
        {"trade_date": day.trade_date, "cut": day.cut},
    ).fetchall()
