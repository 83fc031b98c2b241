"""Prop challenges' daily totals per product: sales, the book of running challenges at the
cut, and the phases that ended in the day."""

from __future__ import annotations

from typing import Any

import psycopg

from pipelines.partitions import TradingDay

_PROP = """
INSERT INTO reports.prop_daily (trade_date, prop_product_id, brand_id, currency, purchased, fees,
                                active, passed, breached, funded)
WITH challenges AS (
    SELECT ch.id, ch.prop_product_id,
           ch.purchased_at >= %(start)s AND ch.purchased_at < %(end)s AS bought,
           ch.purchased_at < %(end)s AND (ch.ended_at IS NULL OR ch.ended_at >= %(end)s)
               AS running
    FROM prop_challenges ch
),
phases AS (
    SELECT ch.prop_product_id,
           ph.status = 'passed' AND ph.ended_at >= %(start)s AND ph.ended_at < %(end)s AS passed,
           ph.status = 'breached' AND ph.breached_at >= %(start)s AND ph.breached_at < %(end)s
               AS breached,
           rule.name = 'funded' AND ch.running AND ph.started_at < %(end)s
               AND (ph.ended_at IS NULL OR ph.ended_at >= %(end)s) AS funded,
           ch.id AS challenge_id
    FROM prop_challenge_phases ph
    JOIN challenges ch ON ch.id = ph.prop_challenge_id
    JOIN prop_product_phases rule
        ON rule.prop_product_id = ch.prop_product_id AND rule.phase_no = ph.phase_no
),
by_challenge AS (
    SELECT prop_product_id, count(*) FILTER (WHERE bought) AS purchased,
           count(*) FILTER (WHERE running) AS active
    FROM challenges GROUP BY prop_product_id
),
by_phase AS (
    SELECT prop_product_id, count(*) FILTER (WHERE passed) AS passed,
           count(*) FILTER (WHERE breached) AS breached,
           count(DISTINCT challenge_id) FILTER (WHERE funded) AS funded
    FROM phases GROUP BY prop_product_id
)
SELECT %(trade_date)s, p.id, p.brand_id, p.currency, c.purchased, c.purchased * p.fee, c.active,
       coalesce(f.passed, 0), coalesce(f.breached, 0), coalesce(f.funded, 0)
FROM prop_products p
JOIN by_challenge c ON c.prop_product_id = p.id
LEFT JOIN by_phase f ON f.prop_product_id = p.id
WHERE c.purchased > 0 OR c.active > 0 OR f.passed > 0 OR f.breached > 0"""


def build_prop_daily(conn: psycopg.Connection[Any], day: TradingDay) -> int:
    """Replace the day's ``reports.prop_daily`` rows; returns how many were written.

    - *purchased* / *fees*: challenges bought in the window, at the product's fee (its price
      list, in the product's currency; discounts paid through ``fee_payment_id`` are not
      reflected);
    - *active*: challenges bought before the cut and not ended by it, funded ones included,
      judged by ``ended_at`` so a re-run of an old day sees that day's book;
    - *funded*: of the active, those in a funded phase at the cut;
    - *passed* / *breached*: phases that passed (``ended_at``) or breached (``breached_at``)
      in the window; an expired phase is neither.

    A product appears on a day when any figure is not zero.
    """
    conn.execute("DELETE FROM reports.prop_daily WHERE trade_date = %s", (day.trade_date,))
    return conn.execute(
        _PROP, {"trade_date": day.trade_date, "start": day.start, "end": day.end}
    ).rowcount
