"""Client metrics of one trading day, by brand, country, source and IB: what management asks
for each morning (registrations, the KYC funnel, FTDs, deposits cleared, net deposits, who
traded and how much).

Each figure is first a fact about one client (a registration, a KYC decision, a payment, a
deal); the facts are then summed by the client's dimensions as they stand today, so a client
who moved country or IB is reported under the new one on a re-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg

from pipelines.metrics import rates
from pipelines.partitions import TradingDay

# domain.md: "FTD = deposits within 24 h of the first".
FTD_SPAN = timedelta(hours=24)

# Each row in the window: ``[start, end)`` of the trading day, in UTC.
_IN = "{col} >= %(start)s AND {col} < %(end)s"

# A payment's moment is its creation (the client paying), not its last update: it never moves,
# so a deposit stays in the day it was made however often the row is touched later.
_PAYMENTS = f"""
    SELECT p.client_id, p.direction, p.amount, p.currency::text AS currency, p.created_at, p.id
    FROM payments p
    WHERE p.status = 'succeeded' AND {_IN.format(col="p.created_at")}"""

# Trading on live accounts only: demo and prop (simulated money) accounts are not the broker's
# flow.
_LIVE_DEALS = f"""
    SELECT ta.client_id, d.volume, d.price, i.contract_size, i.profit_currency::text AS currency
    FROM deals d
    JOIN trading_accounts ta ON ta.id = d.trading_account_id AND ta.kind = 'live'
    JOIN instruments i ON i.id = d.instrument_id
    WHERE {_IN.format(col="d.executed_at")}"""

_CURRENCIES = f"""
    SELECT currency FROM ({_PAYMENTS}) p
    UNION SELECT currency FROM ({_LIVE_DEALS}) d"""

_FACTS = f"""
WITH {rates.RATES_CTE},
payments_in AS ({_PAYMENTS}),
live_deals AS ({_LIVE_DEALS}),
first_deposits AS (
    SELECT p.client_id, p.created_at AS first_at
    FROM payments_in p
    WHERE p.direction = 'deposit' AND NOT EXISTS (
        SELECT 1 FROM payments e
        WHERE e.client_id = p.client_id AND e.direction = 'deposit' AND e.status = 'succeeded'
          AND (e.created_at, e.id) < (p.created_at, p.id))
),
facts(client_id, metric, value) AS (
    SELECT id, 'registrations', 1::numeric FROM clients WHERE {_IN.format(col="created_at")}
    UNION ALL
    SELECT client_id, 'kyc_started', 1 FROM kyc_applications
    WHERE {_IN.format(col="created_at")}
    UNION ALL
    SELECT client_id, 'kyc_' || status, 1 FROM kyc_applications
    WHERE status IN ('approved', 'rejected') AND {_IN.format(col="decided_at")}
    UNION ALL
    SELECT p.client_id, p.direction, round(p.amount * r.usd_rate, 8)
    FROM payments_in p JOIN rates r USING (currency)
    UNION ALL
    SELECT client_id, 'ftd_count', 1 FROM first_deposits
    UNION ALL
    SELECT p.client_id, 'ftd_usd', round(p.amount * r.usd_rate, 8)
    FROM first_deposits f
    JOIN payments_in p ON p.client_id = f.client_id AND p.direction = 'deposit'
        AND p.created_at >= f.first_at AND p.created_at < f.first_at + %(ftd_span)s
    JOIN rates r USING (currency)
    UNION ALL
    SELECT DISTINCT client_id, 'active_traders', 1 FROM live_deals
    UNION ALL
    SELECT client_id, 'volume_lots', volume FROM live_deals
    UNION ALL
    SELECT d.client_id, 'notional_usd', round(d.volume * d.contract_size * d.price * r.usd_rate, 8)
    FROM live_deals d JOIN rates r USING (currency)
)"""


def _sum(metric: str) -> str:
    return f"coalesce(sum(f.value) FILTER (WHERE f.metric = '{metric}'), 0)"


_INSERT = f"""
INSERT INTO reports.client_metrics (
    trade_date, brand_id, country, source, ib_partner_id, registrations, kyc_started,
    kyc_approved, kyc_rejected, ftd_count, ftd_usd, deposits_usd, withdrawals_usd,
    net_deposits_usd, active_traders, volume_lots, notional_usd)
{_FACTS}
SELECT %(trade_date)s, c.brand_id, c.country, coalesce(lead.source, 'direct'),
       coalesce(c.ib_partner_id, 0),
       {_sum("registrations")}, {_sum("kyc_started")}, {_sum("kyc_approved")},
       {_sum("kyc_rejected")}, {_sum("ftd_count")}, {_sum("ftd_usd")}, {_sum("deposit")},
       {_sum("withdrawal")}, {_sum("deposit")} - {_sum("withdrawal")},
       {_sum("active_traders")}, {_sum("volume_lots")}, {_sum("notional_usd")}
FROM facts f
JOIN clients c ON c.id = f.client_id
LEFT JOIN LATERAL (
    SELECT l.source FROM leads l WHERE l.client_id = c.id ORDER BY l.created_at, l.id LIMIT 1
) lead ON true
GROUP BY c.brand_id, c.country, coalesce(lead.source, 'direct'), coalesce(c.ib_partner_id, 0)"""


@dataclass(frozen=True, slots=True)
class Written:
    rows: int
    currencies: tuple[str, ...]


def build_client_metrics(conn: psycopg.Connection[Any], day: TradingDay) -> Written:
    """Replace the day's rows of ``reports.client_metrics`` (in the caller's transaction).

    Definitions, where they are a judgement:

    - *source*: the ``source`` of the earliest lead converted into the client, else
      ``'direct'``; *ib_partner_id* is the client's referring IB, 0 for none.
    - *KYC funnel*: applications created in the window (started), and applications whose
      current status is approved or rejected (FINAL) with ``decided_at`` in the window; a
      request to resubmit is not a rejection.
    - *payments*: succeeded ones, timed by ``created_at``, each converted at the day's cut
      and rounded to 8 places once.
    - *FTD*: a client whose first succeeded deposit ever falls in the window; its amount is
      that deposit plus the client's deposits within 24 h after it (domain.md) that are still
      in the window, so the day is complete at its cut and a later deposit never changes it.
    - *active traders*: clients with at least one deal on a live account in the window (any
      reason, stop-outs included); *volume* and *notional* count every deal's volume, opening
      and closing alike, as MT5 does; notional = lots x contract size x price x the profit
      currency's USD rate.
    """
    needed = {str(row[0]) for row in conn.execute(_CURRENCIES, _window(day)).fetchall()}
    usd = rates.at_cut(conn, day.cut, needed)
    params = (
        _window(day) | rates.as_params(usd) | {"trade_date": day.trade_date, "ftd_span": FTD_SPAN}
    )
    conn.execute("DELETE FROM reports.client_metrics WHERE trade_date = %s", (day.trade_date,))
    written = conn.execute(_INSERT, params).rowcount
    return Written(written, tuple(sorted(usd)))


def _window(day: TradingDay) -> dict[str, Any]:
    return {"start": day.start, "end": day.end}
