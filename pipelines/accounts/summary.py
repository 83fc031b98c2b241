"""MT5's Summary report per account and calendar month, and the Trade accounts report of a
day, both from the Daily report's rows (so the three never disagree)."""

from __future__ import annotations

from typing import Any

import psycopg

from pipelines.partitions import Month


def build_monthly_summary(conn: psycopg.Connection[Any], month: Month) -> int:
    """Replace the month's rows of ``reports.monthly_summary``: the movements of the trade
    dates in the month summed, the closing balance and equity of its last trade date."""
    params = {"month": month.first, "first": month.first, "last": month.last}
    conn.execute("DELETE FROM reports.monthly_summary WHERE month = %(month)s", params)
    conn.execute(
        """INSERT INTO reports.monthly_summary (month, trading_account_id, login, brand_id, name,
               currency, deposit, withdrawal, in_out, credit, additional, volume_lots,
               commission, fee, swap, profit, balance, equity)
           SELECT %(month)s, d.trading_account_id, max(d.login), max(d.brand_id), max(d.name),
                  max(d.currency), sum(d.deposit), sum(d.withdrawal),
                  sum(d.deposit) - sum(d.withdrawal), sum(d.credit_change),
                  sum(d.correction + d.write_off), sum(d.volume_lots), sum(d.commission),
                  sum(d.fee), sum(d.swap), sum(d.closed_profit),
                  (array_agg(d.balance ORDER BY d.trade_date DESC))[1],
                  (array_agg(d.equity ORDER BY d.trade_date DESC))[1]
           FROM reports.daily_accounts d
           WHERE d.trade_date BETWEEN %(first)s AND %(last)s
           GROUP BY d.trading_account_id""",
        params,
    )
    row = conn.execute(
        "SELECT count(*) FROM reports.monthly_summary WHERE month = %(month)s", params
    ).fetchone()
    return int(row[0]) if row else 0


# Column headings as MT5 prints them, and the SQL that gives each.
DAILY_COLUMNS = (
    ("Login", "login"),
    ("Name", "name"),
    ("Group", "account_group"),
    ("Prev Balance", "previous_balance"),
    ("Deposit", "deposit"),
    ("Withdrawal", "withdrawal"),
    ("Closed P/L", "closed_profit"),
    ("Swap", "swap"),
    ("Commission", "commission"),
    ("Balance", "balance"),
    ("Credit", "credit"),
    ("Floating P/L", "floating_profit"),
    ("Equity", "equity"),
    ("Margin", "margin"),
    ("Free Margin", "free_margin"),
    ("Currency", "currency"),
    ("Balance USD", "round(balance * usd_rate, 2)"),
    ("Floating P/L USD", "round(floating_profit * usd_rate, 2)"),
    ("Equity USD", "round(equity * usd_rate, 2)"),
)
TRADE_ACCOUNTS_COLUMNS = (
    ("Login", "login"),
    ("Name", "name"),
    ("Group", "account_group"),
    ("Leverage", "leverage"),
    ("Balance", "balance"),
    ("Credit", "credit"),
    ("Equity", "equity"),
    ("Margin", "margin"),
    ("Free Margin", "free_margin"),
    ("Margin Level", "margin_level"),
    ("Profit", "closed_profit"),
    ("Swap", "swap"),
    ("Floating", "floating_profit"),
    ("Currency", "currency"),
)
SUMMARY_COLUMNS = (
    ("Login", "login"),
    ("Name", "name"),
    ("Deposit", "deposit"),
    ("Withdrawal", "withdrawal"),
    ("In/Out", "in_out"),
    ("Credit", "credit"),
    ("Additional", "additional"),
    ("Volume", "volume_lots"),
    ("Commission", "commission"),
    ("Fee", "fee"),
    ("Swap", "swap"),
    ("Profit", "profit"),
    ("Balance", "balance"),
    ("Equity", "equity"),
    ("Currency", "currency"),
)
