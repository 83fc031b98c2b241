"""The day's client metrics against plain totals over the raw tables.

The totals are restated here the simplest way (no facts, no dimensions, no shared SQL with
:mod:`pipelines.metrics.clients`), so a bug in the report's grouping or joins - a client lost
to a join, a payment counted twice - shows as a difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from pipelines.partitions import TradingDay

_RAW = """
SELECT
    (SELECT count(*) FROM clients WHERE created_at >= %(start)s AND created_at < %(end)s),
    (SELECT count(*) FROM (
        SELECT client_id, min(created_at) AS first_at FROM payments
        WHERE direction = 'deposit' AND status = 'succeeded'
        GROUP BY client_id) firsts
     WHERE first_at >= %(start)s AND first_at < %(end)s),
    coalesce(sum(round(p.amount * r.usd_rate, 8)) FILTER (WHERE p.direction = 'deposit'), 0),
    coalesce(sum(round(p.amount * r.usd_rate, 8)) FILTER (WHERE p.direction = 'withdrawal'), 0)
FROM payments p
LEFT JOIN LATERAL (
    SELECT coalesce(
        (SELECT usd_rate FROM cut_rates WHERE cut = %(end)s AND currency = p.currency),
        CASE WHEN p.currency = 'USD' THEN 1 END) AS usd_rate
) r ON true
WHERE p.status = 'succeeded' AND p.created_at >= %(start)s AND p.created_at < %(end)s"""

_REPORTED = """
SELECT coalesce(sum(registrations), 0), coalesce(sum(ftd_count), 0),
       coalesce(sum(deposits_usd), 0), coalesce(sum(withdrawals_usd), 0),
       count(*) FILTER (WHERE net_deposits_usd <> deposits_usd - withdrawals_usd)
FROM reports.client_metrics WHERE trade_date = %s"""


@dataclass(frozen=True, slots=True)
class Totals:
    registrations: int
    ftd_count: int
    deposits_usd: Decimal
    withdrawals_usd: Decimal


@dataclass(frozen=True, slots=True)
class Reconciliation:
    raw: Totals
    reported: Totals
    bad_net_rows: int  # rows whose net deposits are not deposits - withdrawals

    @property
    def differences(self) -> dict[str, str]:
        """Each figure that disagrees, as 'reported vs raw'."""
        found = {
            name: f"{getattr(self.reported, name)} vs {getattr(self.raw, name)}"
            for name in Totals.__dataclass_fields__
            if getattr(self.reported, name) != getattr(self.raw, name)
        }
        if self.bad_net_rows:
            found["net_deposits_usd"] = f"{self.bad_net_rows} rows are not deposits - withdrawals"
        return found


def reconcile_client_metrics(conn: psycopg.Connection[Any], day: TradingDay) -> Reconciliation:
    raw = conn.execute(_RAW, {"start": day.start, "end": day.end}).fetchone()
    reported = conn.execute(_REPORTED, (day.trade_date,)).fetchone()
    assert raw is not None  # aggregates always return a row
    assert reported is not None
    return Reconciliation(
        raw=Totals(int(raw[0]), int(raw[1]), Decimal(raw[2]), Decimal(raw[3])),
        reported=Totals(
            int(reported[0]), int(reported[1]), Decimal(reported[2]), Decimal(reported[3])
        ),
        bad_net_rows=int(reported[4]),
    )
