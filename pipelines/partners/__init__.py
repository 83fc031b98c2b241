"""Partners' daily totals for the dashboards: introducing brokers' commissions and referred
trading, and prop challenges' sales and outcomes."""
