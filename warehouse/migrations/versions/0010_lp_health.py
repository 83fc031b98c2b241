"""LP health: per LP, symbol and period, the orders the FIX bridge saw end and how they ended
(fill and reject ratios), how fast the LP answered and how far its fills were from its own
quotes. Written by the FIX bridge only; ``lp_health`` sums the periods per LP and symbol.

Revision ID: 0010_lp_health
Revises: 0009_ingest
Create Date: 2025-11-22
"""

from __future__ import annotations

from warehouse.migrations.ddl import execute

revision = "0010_lp_health"
down_revision = "0009_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute(
        """
        CREATE TABLE lp_health_samples (
            lp_id           bigint NOT NULL REFERENCES lps,
            symbol          text NOT NULL,
            period_start    timestamptz NOT NULL,
            period_end      timestamptz NOT NULL,
            orders          integer NOT NULL CHECK (orders >= 0),
            filled_orders   integer NOT NULL CHECK (filled_orders >= 0),
            rejected_orders integer NOT NULL CHECK (rejected_orders >= 0),
            canceled_orders integer NOT NULL CHECK (canceled_orders >= 0),
            filled_volume   numeric(20, 8) NOT NULL CHECK (filled_volume >= 0),
            -- send -> first report, over the orders that got an answer
            latency_ms_sum  numeric(20, 3) NOT NULL CHECK (latency_ms_sum >= 0),
            latency_ms_max  numeric(14, 3) NOT NULL CHECK (latency_ms_max >= 0),
            latency_samples integer NOT NULL CHECK (latency_samples >= 0),
            -- price x lots against the LP's own quote at send; positive = worse for us
            slippage_sum    numeric(28, 10) NOT NULL,
            slippage_volume numeric(20, 8) NOT NULL CHECK (slippage_volume >= 0),
            PRIMARY KEY (lp_id, symbol, period_start),
            CONSTRAINT lp_health_samples_period CHECK (period_end >= period_start),
            CONSTRAINT lp_health_samples_outcomes
                CHECK (filled_orders + rejected_orders + canceled_orders = orders)
        );

        CREATE VIEW lp_health AS
        SELECT l.code AS lp, s.symbol,
               min(s.period_start) AS since, max(s.period_end) AS until,
               sum(s.orders) AS orders,
               sum(s.filled_orders)::numeric / NULLIF(sum(s.orders), 0) AS fill_ratio,
               sum(s.rejected_orders)::numeric / NULLIF(sum(s.orders), 0) AS reject_ratio,
               sum(s.filled_volume) AS filled_volume,
               sum(s.latency_ms_sum) / NULLIF(sum(s.latency_samples), 0) AS latency_ms_avg,
               max(s.latency_ms_max) AS latency_ms_max,
               -- volume-weighted, in price units
               sum(s.slippage_sum) / NULLIF(sum(s.slippage_volume), 0) AS slippage_avg
        FROM lp_health_samples s JOIN lps l ON l.id = s.lp_id
        GROUP BY l.code, s.symbol;
        """
    )


def downgrade() -> None:
    execute(
        """
        DROP VIEW lp_health;
        DROP TABLE lp_health_samples;
        """
    )
