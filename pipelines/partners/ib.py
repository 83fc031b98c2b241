"""Introducing brokers' daily totals: the commission accrued on the day's deals, and what the
clients they referred traded.

Commission rows are per partner and currency (a partner's plans may pay in several); the
referred trading is per partner only, since lots do not belong to a currency and repeating
them on each currency's row would count them twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from pipelines.partitions import TradingDay

_COMMISSION = """
INSERT INTO reports.ib_daily (trade_date, ib_partner_id, brand_id, currency, accruals, reversals,
                              amount)
SELECT %(trade_date)s, a.ib_partner_id, p.brand_id, a.currency,
       count(*) FILTER (WHERE a.kind = 'accrual'), count(*) FILTER (WHERE a.kind = 'reversal'),
       sum(a.amount)
FROM ib_commission_accruals a
JOIN ib_partners p ON p.id = a.ib_partner_id
WHERE a.deal_executed_at >= %(start)s AND a.deal_executed_at < %(end)s
GROUP BY a.ib_partner_id, p.brand_id, a.currency"""

_REFERRED = """
INSERT INTO reports.ib_referred_daily (trade_date, ib_partner_id, brand_id, clients, volume_lots)
SELECT %(trade_date)s, c.ib_partner_id, p.brand_id, count(DISTINCT c.id), sum(d.volume)
FROM deals d
JOIN trading_accounts ta ON ta.id = d.trading_account_id AND ta.kind = 'live'
JOIN clients c ON c.id = ta.client_id
JOIN ib_partners p ON p.id = c.ib_partner_id
WHERE d.executed_at >= %(start)s AND d.executed_at < %(end)s
GROUP BY c.ib_partner_id, p.brand_id"""


def build_ib_daily(conn: psycopg.Connection[Any], day: TradingDay) -> int:
    """Replace the day's ``reports.ib_daily`` rows; returns how many were written.

    The day of an accrual is the day of the deal it was earned on (``deal_executed_at``),
    whenever it was computed; a reversal is a row of its own with a negative amount, so the
    amount is accruals less reversals. A reversal booked after the day was reported shows once
    the day is run again (a backfill), which keeps each day's figure tied to its deals.
    """
    conn.execute("DELETE FROM reports.ib_daily WHERE trade_date = %s", (day.trade_date,))
    return conn.execute(_COMMISSION, _params(day)).rowcount


def build_ib_referred_daily(conn: psycopg.Connection[Any], day: TradingDay) -> int:
    """Replace the day's ``reports.ib_referred_daily`` rows; returns how many were written.

    *Referred clients* are the partner's direct referrals (``clients.ib_partner_id``), not its
    sub-partners' clients, and count when they dealt on a live account in the window; their
    volume is every such deal's lots.
    """
    conn.execute("DELETE FROM reports.ib_referred_daily WHERE trade_date = %s", (day.trade_date,))
    return conn.execute(_REFERRED, _params(day)).rowcount


@dataclass(frozen=True, slots=True)
class Mismatch:
    ib_partner_id: int
    currency: str
    reported: Decimal | None  # None: no report row
    accrued: Decimal | None  # None: no accruals


def ib_daily_mismatches(conn: psycopg.Connection[Any], day: TradingDay) -> list[Mismatch]:
    """Each partner and currency whose reported amount is not the accruals' plain sum."""
    rows = conn.execute(
        """
        WITH accrued AS (
            SELECT ib_partner_id, currency::text AS currency, sum(amount) AS amount
            FROM ib_commission_accruals
            WHERE deal_executed_at >= %(start)s AND deal_executed_at < %(end)s
            GROUP BY 1, 2),
        reported AS (
            SELECT ib_partner_id, currency::text AS currency, amount
            FROM reports.ib_daily WHERE trade_date = %(trade_date)s)
        SELECT ib_partner_id, currency, r.amount, a.amount
        FROM reported r FULL JOIN accrued a USING (ib_partner_id, currency)
        WHERE r.amount IS DISTINCT FROM a.amount
        ORDER BY 1, 2""",
        _params(day),
    ).fetchall()
    return [Mismatch(int(p), str(c), r, a) for p, c, r, a in rows]


def _params(day: TradingDay) -> dict[str, Any]:
    return {"trade_date": day.trade_date, "start": day.start, "end": day.end}
