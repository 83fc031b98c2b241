"""Load the reference data of :mod:`warehouse.reference_data`; running it again changes nothing.

Every row is inserted with ``ON CONFLICT DO NOTHING`` on its natural key, so rows an operator
has since edited are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from warehouse import reference_data as ref

Row = dict[str, Any]


def _insert(
    conn: psycopg.Connection[Any], table: str, rows: Iterable[Row], key: Sequence[str]
) -> None:
    for row in rows:
        columns = list(row)
        statement = sql.SQL(
            "INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({key}) DO NOTHING"
        ).format(
            table=sql.Identifier(table),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            values=sql.SQL(", ").join(sql.Placeholder(c) for c in columns),
            key=sql.SQL(", ").join(map(sql.Identifier, key)),
        )
        conn.execute(statement, row)


def _ids(conn: psycopg.Connection[Any], table: str, key: str) -> dict[str, int]:
    query = sql.SQL("SELECT {key}, id FROM {table}").format(
        key=sql.Identifier(key), table=sql.Identifier(table)
    )
    return {str(k): int(i) for k, i in conn.execute(query).fetchall()}


def seed(conn: psycopg.Connection[Any]) -> None:
    """Insert the demo brand, groups, instruments, LPs, routing, roles and chart of accounts."""
    with conn.transaction():
        _insert(conn, "brands", [ref.BRAND], ["code"])
        brand_id = _ids(conn, "brands", "code")[ref.BRAND["code"]]
        _seed_instruments(conn)
        _seed_lps(conn)
        _seed_groups_and_routing(conn, brand_id)
        _insert(
            conn, "roles", ({"code": c, "description": d} for c, d in ref.ROLES.items()), ["code"]
        )
        _seed_chart_of_accounts(conn, brand_id)


def _seed_instruments(conn: psycopg.Connection[Any]) -> None:
    _insert(conn, "commission_plans", ref.COMMISSION_PLANS, ["code"])
    plans = _ids(conn, "commission_plans", "code")
    _insert(
        conn,
        "commission_plan_tiers",
        (
            {"commission_plan_id": plans[code], "min_monthly_lots": lots, "rate": rate}
            for code, lots, rate in ref.COMMISSION_TIERS
        ),
        ["commission_plan_id", "min_monthly_lots"],
    )
    _insert(conn, "instruments", ref.INSTRUMENTS, ["symbol"])
    instruments = _ids(conn, "instruments", "symbol")
    _insert(
        conn,
        "trading_sessions",
        (
            {
                "instrument_id": instruments[symbol],
                "kind": kind,
                "weekday": weekday,
                "opens": opens,
                "closes": closes,
                "time_zone": zone,
            }
            for symbol, (zone, windows) in ref.SESSIONS.items()
            for kind in ("quote", "trade")
            for weekday, opens, closes in windows
        ),
        ["instrument_id", "kind", "weekday", "opens"],
    )


def _seed_lps(conn: psycopg.Connection[Any]) -> None:
    _insert(conn, "lps", ref.LPS, ["code"])
    lps = _ids(conn, "lps", "code")
    instruments = _ids(conn, "instruments", "symbol")
    _insert(
        conn,
        "lp_sessions",
        (
            {
                "lp_id": lps[lp],
                "role": role,
                "host": "127.0.0.1",
                "port": port,
                "sender_comp_id": sender,
                "target_comp_id": target,
                "credentials_ref": f"env:BROKERSTACK_{lp.upper().replace('-', '_')}_PASSWORD",
            }
            for lp, roles in ref.LP_SESSIONS.items()
            for role, (port, sender, target) in roles.items()
        ),
        ["lp_id", "role"],
    )
    _insert(
        conn,
        "lp_symbols",
        (
            {"lp_id": lp_id, "instrument_id": instrument_id, "lp_symbol": symbol}
            for lp_id in lps.values()
            for symbol, instrument_id in instruments.items()
        ),
        ["lp_id", "instrument_id"],
    )
    _insert(
        conn,
        "hedge_thresholds",
        (
            {"instrument_id": instruments[s], "max_net_exposure": lots, "hedge_lp_id": lps[lp]}
            for s, (lots, lp) in ref.HEDGE_THRESHOLDS.items()
        ),
        ["instrument_id"],
    )


def _seed_groups_and_routing(conn: psycopg.Connection[Any], brand_id: int) -> None:
    _insert(conn, "routing_policies", ref.ROUTING_POLICIES, ["code"])
    policies = _ids(conn, "routing_policies", "code")
    lps = _ids(conn, "lps", "code")
    _insert(
        conn,
        "routing_rules",
        (
            {
                "routing_policy_id": policies[policy],
                "priority": priority,
                **match,
                "action": action,
                "hedge_ratio": ratio,
                "lp_id": None if lp is None else lps[lp],
            }
            for policy, priority, match, action, ratio, lp in ref.ROUTING_RULES
        ),
        ["routing_policy_id", "priority"],
    )
    plans = _ids(conn, "commission_plans", "code")
    markups: dict[str, tuple[int, int]] = {}
    for group in ref.ACCOUNT_GROUPS:
        row = {
            k: v
            for k, v in group.items()
            if k not in ("routing_policy", "commission_plan", "markup_points", "min_spread_points")
        }
        plan = group["commission_plan"]
        row |= {
            "brand_id": brand_id,
            "routing_policy_id": policies[group["routing_policy"]],
            "commission_plan_id": None if plan is None else plans[plan],
        }
        _insert(conn, "account_groups", [row], ["brand_id", "code"])
        markups[group["code"]] = (group["markup_points"], group["min_spread_points"])
    groups = {
        str(code): int(group_id)
        for code, group_id in conn.execute(
            "SELECT code, id FROM account_groups WHERE brand_id = %s", (brand_id,)
        )
    }
    instruments = _ids(conn, "instruments", "symbol")
    _insert(
        conn,
        "group_symbols",
        (
            {
                "account_group_id": groups[code],
                "instrument_id": instrument_id,
                "markup_points": markup,
                "min_spread_points": min_spread,
            }
            for code, (markup, min_spread) in markups.items()
            for instrument_id in instruments.values()
        ),
        ["account_group_id", "instrument_id"],
    )


def _seed_chart_of_accounts(conn: psycopg.Connection[Any], brand_id: int) -> None:
    brand = ref.BRAND["code"]
    broker_accounts = (
        {
            "code": f"{brand}:{kind}:{currency}",
            "kind": kind,
            "currency": currency,
            "brand_id": brand_id,
        }
        for kind in ref.BROKER_LEDGER_KINDS
        for currency in ref.LEDGER_CURRENCIES
    )
    psp_accounts = (
        {
            "code": f"{brand}:psp_clearing:{psp}:{currency}",
            "kind": "psp_clearing",
            "currency": currency,
            "brand_id": brand_id,
            "psp": psp,
        }
        for psp in ref.PSPS
        for currency in ref.LEDGER_CURRENCIES
    )
    _insert(conn, "ledger_accounts", broker_accounts, ["code"])
    _insert(conn, "ledger_accounts", psp_accounts, ["code"])
