"""Client metrics for the management dashboards: one trading day's registrations, KYC funnel,
first-time deposits, money in and out, and trading activity, by brand, country, source and IB."""
