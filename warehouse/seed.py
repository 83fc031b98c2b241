"""Load the reference data of :mod:`warehouse.reference_data`; running it again changes nothing.

Every row is inserted with ``ON CONFLICT DO NOTHING`` on its natural key, so rows an operator
has since edited are left as they are. Holidays are written a calendar year at a time, each
year once (``holiday_calendar_years``), so rows an operator deleted stay deleted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql

from warehouse import reference_data as ref
from warehouse.holiday_calendars import calendar_days, seed_years

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


def seed(conn: psycopg.Connection[Any], today: date | None = None) -> None:
    """Insert the demo brand, groups, instruments with their holiday calendars, LPs, routing,
    roles and chart of accounts; holidays from last year to five years after ``today`` (by
    default today in UTC)."""
    years = seed_years(today or datetime.now(UTC).date())
    with conn.transaction():
        _insert(conn, "brands", [ref.BRAND], ["code"])
        brand_id = _ids(conn, "brands", "code")[ref.BRAND["code"]]
        created = _seed_holiday_calendars(conn)
        _seed_instruments(conn, created)
        _seed_holidays(conn, years)
        _seed_lps(conn)
        _seed_groups_and_routing(conn, brand_id)
        _seed_access(conn)
        _seed_chart_of_accounts(conn, brand_id)
        _insert(conn, "kyc_levels", ({**row, "brand_id": brand_id} for row in ref.KYC_LEVELS),
                ["brand_id", "level"])  # fmt: skip
        _seed_brand_rules(conn, brand_id)
        _insert(conn, "psp_methods", ({**row, "brand_id": brand_id} for row in ref.PSP_METHODS),
                ["brand_id", "provider", "method"])  # fmt: skip


def _seed_holiday_calendars(conn: psycopg.Connection[Any]) -> set[str]:
    """The calendars, and the codes of those created now."""
    created: set[str] = set()
    for code, description in ref.HOLIDAY_CALENDARS.items():
        row = conn.execute(
            """INSERT INTO holiday_calendars (code, description) VALUES (%s, %s)
               ON CONFLICT (code) DO NOTHING RETURNING id""",
            (code, description),
        ).fetchone()
        if row is not None:
            created.add(code)
    return created


def _seed_instruments(conn: psycopg.Connection[Any], new_calendars: set[str]) -> None:
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
    calendars = _ids(conn, "holiday_calendars", "code")

    def calendar_of(symbol: str) -> int | None:
        code = ref.INSTRUMENT_CALENDARS.get(symbol)
        return None if code is None else calendars[code]

    _insert(
        conn,
        "instruments",
        ({**row, "holiday_calendar_id": calendar_of(row["symbol"])} for row in ref.INSTRUMENTS),
        ["symbol"],
    )
    # Instruments from before holiday calendars existed get theirs when it is created; which
    # calendar an instrument follows is staff's to change afterwards, and stays as they leave it.
    for code in new_calendars:
        conn.execute(
            """UPDATE instruments SET holiday_calendar_id = %s
               WHERE symbol = ANY(%s) AND holiday_calendar_id IS NULL""",
            (calendars[code], [s for s, c in ref.INSTRUMENT_CALENDARS.items() if c == code]),
        )
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


def _seed_holidays(conn: psycopg.Connection[Any], years: range) -> None:
    """Each calendar's days of the years it has none written for yet: a year is written once,
    so a day staff deleted is not put back (and one they added is kept)."""
    calendars = _ids(conn, "holiday_calendars", "code")
    for code in ref.HOLIDAY_CALENDARS:
        calendar_id = calendars[code]
        written = {
            int(year)
            for (year,) in conn.execute(
                "SELECT year FROM holiday_calendar_years WHERE holiday_calendar_id = %s",
                (calendar_id,),
            )
        }
        missing = [year for year in years if year not in written]
        _insert(
            conn,
            "holidays",
            (
                {"holiday_calendar_id": calendar_id, "day": day, "name": name}
                for day, name in sorted(calendar_days(code, missing).items())
            ),
            ["holiday_calendar_id", "day"],
        )
        _insert(
            conn,
            "holiday_calendar_years",
            ({"holiday_calendar_id": calendar_id, "year": year} for year in missing),
            ["holiday_calendar_id", "year"],
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


def _seed_access(conn: psycopg.Connection[Any]) -> None:
    roles = (
        {"code": c, "description": d, "requires_2fa": c in ref.ROLES_REQUIRING_2FA}
        for c, d in ref.ROLES.items()
    )
    _insert(conn, "roles", roles, ["code"])
    permissions = ({"code": c, "description": d} for c, d in ref.PERMISSIONS.items())
    _insert(conn, "permissions", permissions, ["code"])
    role_ids = _ids(conn, "roles", "code")
    grants = (
        {"role_id": role_ids[role], "permission_code": permission}
        for role, permissions in ref.ROLE_PERMISSIONS.items()
        for permission in permissions
    )
    _insert(conn, "role_permissions", grants, ["role_id", "permission_code"])


def _seed_brand_rules(conn: psycopg.Connection[Any], brand_id: int) -> None:
    _insert(conn, "brand_settings", [{"brand_id": brand_id, **ref.BRAND_SETTINGS}], ["brand_id"])
    groups = {
        str(code): int(group_id)
        for code, group_id in conn.execute(
            "SELECT code, id FROM account_groups WHERE brand_id = %s", (brand_id,)
        )
    }
    defaults = (
        {"brand_id": brand_id, "account_kind": kind, "account_group_id": groups[code]}
        for kind, code in ref.BRAND_DEFAULT_GROUPS.items()
    )
    _insert(conn, "brand_default_groups", defaults, ["brand_id", "account_kind"])
    caps = (
        {"brand_id": brand_id, "country": country, "symbol_group": group, "max_leverage": cap}
        for country in ref.ESMA_COUNTRIES
        for group, cap in ref.ESMA_RETAIL_CAPS.items()
    )
    _insert(conn, "brand_leverage_caps", caps, ["brand_id", "country", "symbol_group"])
    periods = (
        {"brand_id": brand_id, "country": country, "kind": kind, "years": years}
        for (country, kind), years in ref.RETENTION_YEARS.items()
    )
    _insert(conn, "retention_periods", periods, ["brand_id", "country", "kind"])
