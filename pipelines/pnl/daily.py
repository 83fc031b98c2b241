"""Daily P&L per account, symbol and book, from the deals of the day and the core's position
statements at the two cuts that bound it.

For the client: realised profit, swaps and commissions of the day's deals, and the floating
P/L (accrued swaps included) at the cut against the previous cut; ``client_pnl`` is their sum
(realised + swap + commission + floating - previous floating), so a position closed in the day
moves its swap from floating to realised without counting it twice.

For the broker, in USD: on the B-book, the opposite of the clients' trading result (realised,
swap and the change in floating); on both books, the commissions charged; on the A-book, the
markup earned (the client's fill against the LP's, times volume and contract size) less the LP's
commission on the notional filled. A-book swaps are passed through to the LP; hedges the broker
sends on its own account are not in any client's row.

Amounts convert to USD at the cut's rates (``cut_rates``, as the core journaled them).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from pipelines.partitions import TradingDay

# The day's deals per account, symbol and book, from the deals alone: a day holds millions of
# them, so the scan joins nothing and multiplies once per row (volume x price); the contract
# size and the profit currency's rate apply to the group's sums.
_DEALS = """
    SELECT trading_account_id AS account_id, instrument_id, lower(routed) AS book,
           sum(profit) AS realised, sum(swap) AS swap, sum(commission) AS commission,
           sum(volume) AS volume, sum(volume * price) AS volume_price
    FROM deals
    WHERE executed_at >= %(start)s AND executed_at < %(cut)s
    GROUP BY trading_account_id, instrument_id, lower(routed)
"""

# The A-book's deals (a fraction of the day) against their LP fills: the markup (the client's
# price against the LP's, times volume) and the LP's commission per million of notional, both
# in the profit currency and before the contract size.
_A_BOOK = """
    SELECT d.trading_account_id AS account_id, d.instrument_id,
           sum(CASE WHEN d.side = 'BUY' THEN d.price - lo.avg_px ELSE lo.avg_px - d.price END
               * d.volume) AS markup,
           sum(d.volume * lo.avg_px * l.commission_per_million) AS lp_cost
    FROM deals d
    JOIN lp_orders lo ON lo.id = d.lp_order_id
    JOIN lps l ON l.id = d.lp_id
    WHERE d.executed_at >= %(start)s AND d.executed_at < %(cut)s AND d.routed = 'A'
    GROUP BY d.trading_account_id, d.instrument_id
"""

# The day's deals and the two cuts' floating P/L, each aggregated once into a temporary table:
# CREATE TABLE AS may run in parallel where an INSERT ... SELECT may not.
_FLOATING = """
    SELECT trading_account_id AS account_id, instrument_id, book,
           coalesce(sum(coalesce(profit, 0) + swap) FILTER (WHERE cut = %(cut)s), 0)
               AS floating,
           coalesce(sum(coalesce(profit, 0) + swap) FILTER (WHERE cut = %(start)s), 0)
               AS previous
    FROM position_statements WHERE cut IN (%(start)s, %(cut)s)
    GROUP BY trading_account_id, instrument_id, book
"""

# One row per account, symbol and book that traded in the day or held a position at either cut.
_ROWS = """
    SELECT account_id, instrument_id, book,
           sum(realised) AS realised, sum(swap) AS swap, sum(commission) AS commission,
           sum(volume) AS volume, sum(volume_price) AS volume_price,
           sum(floating) AS floating, sum(previous) AS previous
    FROM (SELECT account_id, instrument_id, book, realised, swap, commission, volume,
                 volume_price, 0 AS floating, 0 AS previous
          FROM pnl_deals
          UNION ALL
          SELECT account_id, instrument_id, book, 0, 0, 0, 0, NULL, floating, previous
          FROM pnl_floating) u
    GROUP BY account_id, instrument_id, book
"""

_RATE = "CASE WHEN {ccy} = 'USD' THEN 1 ELSE {rate}.usd_rate END"

_INSERT = f"""
    INSERT INTO reports.daily_pnl (trade_date, trading_account_id, instrument_id, book,
        brand_id, account_group, symbol, currency, usd_rate, realised, swap, commission,
        floating, previous_floating, client_pnl, volume_lots, notional_usd, markup_usd,
        lp_cost_usd, broker_revenue_usd)
    SELECT %(trade_date)s, r.account_id, r.instrument_id, r.book, g.brand_id, g.code, i.symbol,
           a.currency, x.account_rate, r.realised, r.swap, r.commission, r.floating,
           r.previous, r.realised + r.swap + r.commission + r.floating - r.previous, r.volume,
           r.volume_price * i.contract_size * x.profit_rate, p.markup, p.lp_cost,
           x.account_rate * (CASE WHEN r.book = 'b'
                                  THEN -(r.realised + r.swap + r.floating - r.previous)
                                  ELSE 0 END
                             - r.commission)
               + p.markup - p.lp_cost
    FROM pnl_rows r
    JOIN trading_accounts a ON a.id = r.account_id
    JOIN account_groups g ON g.id = a.account_group_id
    JOIN instruments i ON i.id = r.instrument_id
    LEFT JOIN cut_rates ar ON ar.cut = %(cut)s AND ar.currency = a.currency
    LEFT JOIN cut_rates pr ON pr.cut = %(cut)s AND pr.currency = i.profit_currency
    LEFT JOIN pnl_a_book ab ON r.book = 'a' AND ab.account_id = r.account_id
                           AND ab.instrument_id = r.instrument_id
    CROSS JOIN LATERAL (SELECT {_RATE.format(ccy="a.currency", rate="ar")} AS account_rate,
                               {_RATE.format(ccy="i.profit_currency", rate="pr")} AS profit_rate
                       ) x
    CROSS JOIN LATERAL (SELECT
        coalesce(ab.markup * i.contract_size * x.profit_rate, 0) AS markup,
        coalesce(ab.lp_cost * i.contract_size / 1000000 * x.profit_rate, 0) AS lp_cost) p
"""


@dataclass(frozen=True, slots=True)
class DailyPnl:
    rows: int
    client_pnl: Decimal
    broker_revenue_usd: Decimal | None


def build_daily_pnl(conn: psycopg.Connection[Any], day: TradingDay) -> DailyPnl:
    """Replace the day's rows of ``reports.daily_pnl`` (in the caller's transaction)."""
    params = {"trade_date": day.trade_date, "start": day.start, "cut": day.cut}
    conn.execute("DELETE FROM reports.daily_pnl WHERE trade_date = %(trade_date)s", params)
    # a day's deals aggregate in memory (the default 4 MB spills a busy day's sort to disk)
    conn.execute("SET LOCAL work_mem = '256MB'")
    conn.execute("DROP TABLE IF EXISTS pnl_deals, pnl_a_book, pnl_floating, pnl_rows")
    conn.execute(f"CREATE TEMP TABLE pnl_deals ON COMMIT DROP AS {_DEALS}", params)
    conn.execute(f"CREATE TEMP TABLE pnl_a_book ON COMMIT DROP AS {_A_BOOK}", params)
    conn.execute(f"CREATE TEMP TABLE pnl_floating ON COMMIT DROP AS {_FLOATING}", params)
    conn.execute(f"CREATE TEMP TABLE pnl_rows ON COMMIT DROP AS {_ROWS}")
    conn.execute("ANALYZE pnl_rows, pnl_a_book")
    conn.execute(_INSERT, params)
    row = conn.execute(
        """SELECT count(*), coalesce(sum(client_pnl), 0), sum(broker_revenue_usd)
           FROM reports.daily_pnl WHERE trade_date = %(trade_date)s""",
        params,
    ).fetchone()
    assert row is not None
    return DailyPnl(int(row[0]), row[1], row[2])


def unreported_deals(conn: psycopg.Connection[Any], day: TradingDay) -> dict[str, Any]:
    """What of the day's deals the P&L misses: deals without an account or an instrument
    (orphans), and the difference between the deals' and the report's totals."""
    params = {"trade_date": day.trade_date, "start": day.start, "cut": day.cut}
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE a.id IS NULL OR i.id IS NULL),
                  coalesce(sum(d.profit), 0), coalesce(sum(d.volume), 0)
           FROM deals d
           LEFT JOIN trading_accounts a ON a.id = d.trading_account_id
           LEFT JOIN instruments i ON i.id = d.instrument_id
           WHERE d.executed_at >= %(start)s AND d.executed_at < %(cut)s""",
        params,
    ).fetchone()
    reported = conn.execute(
        """SELECT coalesce(sum(realised), 0), coalesce(sum(volume_lots), 0)
           FROM reports.daily_pnl WHERE trade_date = %(trade_date)s""",
        params,
    ).fetchone()
    assert row is not None
    assert reported is not None
    return {
        "orphans": int(row[0]),
        "deals_profit": row[1],
        "report_profit": reported[0],
        "deals_volume": row[2],
        "report_volume": reported[1],
    }
