"""Reference data: what a fresh installation holds, and seeding twice changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from warehouse.seed import seed

_TABLES = (
    "brands", "commission_plans", "commission_plan_tiers", "instruments", "trading_sessions",
    "lps", "lp_sessions", "lp_symbols", "routing_policies", "routing_rules", "account_groups",
    "group_symbols", "hedge_thresholds", "roles", "ledger_accounts", "holiday_calendars",
    "holidays", "holiday_calendar_years", "permissions", "role_permissions", "brand_settings",
    "brand_default_groups", "brand_leverage_caps", "retention_periods",
)  # fmt: skip


def _contents(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    return {
        table: sorted(
            str(row) for row in conn.execute(f"SELECT to_jsonb(t) - 'created_at' FROM {table} t")
        )
        for table in _TABLES
    }


def test_seeding_twice_changes_nothing(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        seed(conn)
        first = _contents(conn)
        seed(conn)
        assert _contents(conn) == first
        assert all(first[table] for table in _TABLES)


def test_seed_keeps_operator_edits(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute("UPDATE instruments SET swap_long = -9 WHERE symbol = 'EURUSD'")
        seed(conn)
        row = conn.execute("SELECT swap_long FROM instruments WHERE symbol = 'EURUSD'").fetchone()
        assert row == (Decimal(-9),)


def test_seeded_reference_data(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        modes: dict[str, str] = dict(
            conn.execute("SELECT symbol, margin_calc_mode FROM instruments").fetchall()
        )
        assert modes == {
            "EURUSD": "FOREX",
            "GBPUSD": "FOREX",
            "USDJPY": "FOREX",
            "XAUUSD": "CFDLEVERAGE",
            "US500": "CFDINDEX",
            "BTCUSD": "CFDLEVERAGE",
        }
        sessions = conn.execute(
            """SELECT l.code, s.role, s.host, s.port FROM lp_sessions s JOIN lps l ON l.id = s.lp_id
               ORDER BY s.port"""
        ).fetchall()
        assert [(lp, role) for lp, role, _, _ in sessions] == [
            ("lp-alpha", "quote"),
            ("lp-alpha", "trade"),
            ("lp-beta", "quote"),
            ("lp-beta", "trade"),
        ]
        assert {host for _, _, host, _ in sessions} == {"127.0.0.1"}
        roles = {r for (r,) in conn.execute("SELECT code FROM roles")}
        assert roles == {"admin", "manager", "compliance", "kyc_officer", "finance", "sales",
                         "retention", "support", "dealer", "ib_manager"}  # fmt: skip
        groups = conn.execute(
            """SELECT code, position_mode, client_category, account_kind FROM account_groups
               ORDER BY code"""
        ).fetchall()
        assert groups == [
            ("demo-usd", "hedging", "retail", "demo"),
            ("professional-netting", "netting", "professional", "live"),
            ("retail-eu-hedging", "hedging", "retail", "live"),
        ]
        # The last rule of every policy matches everything, so no order goes unrouted.
        catch_all = conn.execute(
            """SELECT DISTINCT ON (routing_policy_id) instrument_id, symbol_group, min_volume
               FROM routing_rules ORDER BY routing_policy_id, priority DESC"""
        ).fetchall()
        assert len(catch_all) == 3
        assert set(catch_all) == {(None, None, None)}
