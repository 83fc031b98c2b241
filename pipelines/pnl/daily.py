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

_RATE = (
    "CASE WHEN {ccy} = 'USD' THEN 1 ELSE "
    "(SELECT usd_rate FROM cut_rates WHERE cut = %(cut)s AND currency = {ccy}) END"
)

# The profit currency's rate joins in (not a subquery per group): an aggregate without
# subqueries can be computed in parallel, in partial sums per worker.
_PROFIT_RATE = "CASE WHEN i.profit_currency = 'USD' THEN 1 ELSE max(r.usd_rate) END"
_DEALS = f"""
    SELECT d.trading_account_id AS account_id, d.instrument_id, lower(d.routed) AS book,
           sum(d.profit) AS realised, sum(d.swap) AS swap, sum(d.commission) AS commission,
           sum(d.volume) AS volume,
           sum(d.volume * i.contract_size * d.price) * {_PROFIT_RATE} AS notional_usd,
           coalesce(sum(CASE WHEN d.side = 'BUY' THEN d.price - lo.avg_px
                             ELSE lo.avg_px - d.price END
                        * d.volume * i.contract_size) FILTER (WHERE d.routed = 'A'), 0)
               * {_PROFIT_RATE} AS markup_usd,
           coalesce(sum(d.volume * i.contract_size * lo.avg_px * l.commission_per_million / 1000000)
                    FILTER (WHERE d.routed = 'A'), 0)
               * {_PROFIT_RATE} AS lp_cost_usd
    FROM deals d
    JOIN instruments i ON i.id = d.instrument_id
    LEFT JOIN cut_rates r ON r.cut = %(cut)s AND r.currency = i.profit_currency
    LEFT JOIN lp_orders lo ON lo.id = d.lp_order_id
    LEFT JOIN lps l ON l.id = d.lp_id
    WHERE d.executed_at >= %(start)s AND d.executed_at < %(cut)s
    GROUP BY d.trading_account_id, d.instrument_id, lower(d.routed), i.profit_currency
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

_INSERT = f"""
    INSERT INTO reports.daily_pnl (trade_date, trading_account_id, instrument_id, book,
        brand_id, account_group, symbol, currency, usd_rate, realised, swap, commission,
        floating, previous_floating, client_pnl, volume_lots, notional_usd, markup_usd,
        lp_cost_usd, broker_revenue_usd)
    SELECT %(trade_date)s, k.account_id, k.instrument_id, k.book, g.brand_id, g.code, i.symbol,
           a.currency, x.rate, x.realised, x.swap, x.commission, x.floating, x.previous,
           x.realised + x.swap + x.commission + x.floating - x.previous,
           coalesce(d.volume, 0), d.notional_usd, coalesce(d.markup_usd, 0),
           coalesce(d.lp_cost_usd, 0),
           x.rate * (CASE WHEN k.book = 'b'
                          THEN -(x.realised + x.swap + x.floating - x.previous) ELSE 0 END
                     - x.commission)
               + coalesce(d.markup_usd, 0) - coalesce(d.lp_cost_usd, 0)
    FROM pnl_deals d
    FULL JOIN pnl_floating f USING (account_id, instrument_id, book)
    CROSS JOIN LATERAL (SELECT coalesce(d.account_id, f.account_id) AS account_id,
                               coalesce(d.instrument_id, f.instrument_id) AS instrument_id,
                               coalesce(d.book, f.book) AS book) k
    JOIN trading_accounts a ON a.id = k.account_id
    JOIN account_groups g ON g.id = a.account_group_id
    JOIN instruments i ON i.id = k.instrument_id
    CROSS JOIN LATERAL (SELECT
        {_RATE.format(ccy="a.currency")} AS rate,
        coalesce(d.realised, 0) AS realised, coalesce(d.swap, 0) AS swap,
        coalesce(d.commission, 0) AS commission, coalesce(f.floating, 0) AS floating,
        coalesce(f.previous, 0) AS previous) x
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
    conn.execute("DROP TABLE IF EXISTS pnl_deals, pnl_floating")
    conn.execute(f"CREATE TEMP TABLE pnl_deals ON COMMIT DROP AS {_DEALS}", params)
    conn.execute(f"CREATE TEMP TABLE pnl_floating ON COMMIT DROP AS {_FLOATING}", params)
    conn.execute("ANALYZE pnl_deals, pnl_floating")
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
