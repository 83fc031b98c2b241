"""The core's configuration read from the warehouse: instruments with their trading sessions
and holidays, account groups with per-symbol markups and commissions, routing rules and hedge
thresholds.

Also keeps the warehouse ids the journal needs (instrument, LP, brand) next to the core's
names, so the journal never has to look them up row by row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Any

import psycopg

from execution.commission import ChargeOn, CommissionMode, CommissionPlan
from execution.core import CoreConfig
from execution.groups import AccountGroup, Accounting, LevelMode, Markup
from execution.instruments import CalcMode, Instrument, SwapMode
from execution.routing import RouteAction, RoutingRule
from execution.sessions import TradingSessions, Window
from warehouse.reference_data import currency_digits

_CALC_MODES = {
    "FOREX": CalcMode.FOREX,
    "FOREX_NO_LEVERAGE": CalcMode.FOREX_NO_LEVERAGE,
    "CFD": CalcMode.CFD,
    "CFDLEVERAGE": CalcMode.CFDLEVERAGE,
    "CFDINDEX": CalcMode.CFDINDEX,
}
_COMMISSION_MODES = {
    "per_lot": CommissionMode.PER_LOT,
    "per_deal": CommissionMode.PER_DEAL,
    "percent_turnover": CommissionMode.TURNOVER,
}
_ACTIONS = {
    "A_BOOK": RouteAction.A_BOOK,
    "B_BOOK": RouteAction.B_BOOK,
    "PARTIAL": RouteAction.PARTIAL,
    "REJECT": RouteAction.REJECT,
    "REQUOTE": RouteAction.REQUOTE,
}
# Toxicity scores are fractions in the warehouse and integer percent in the core.
TOXICITY_SCALE = 100
_DEFAULT_STALENESS_MS = 1000


@dataclass(frozen=True, slots=True)
class GroupInfo:
    group_id: int
    brand_id: int
    brand: str
    currency: str
    kind: str  # live, demo or prop


@dataclass(slots=True)
class Reference:
    """The loaded configuration and the warehouse ids behind the core's names."""

    config: CoreConfig
    instrument_ids: dict[str, int] = field(default_factory=dict)
    symbols_by_id: dict[int, str] = field(default_factory=dict)
    lp_ids: dict[str, int] = field(default_factory=dict)
    groups: dict[str, GroupInfo] = field(default_factory=dict)  # by group name (code)
    group_names: dict[int, str] = field(default_factory=dict)  # account_groups.id -> name


def toxicity(score: Decimal | None) -> int:
    return 0 if score is None else int(score * TOXICITY_SCALE)


def load_reference(conn: psycopg.Connection[Any], lp_prefix: str) -> Reference:
    """Everything the core needs to price and trade, as the warehouse holds it now."""
    instruments, instrument_ids, symbol_groups = _instruments(conn)
    lp_ids, staleness_ms = _lps(conn)
    plans = _commission_plans(conn)
    groups, infos, group_names, policies = _groups(conn, instrument_ids, plans, symbol_groups)
    rules = _rules(conn, policies, group_names, instrument_ids, lp_ids)
    thresholds = {
        symbol: Decimal(lots)
        for symbol, lots in conn.execute(
            """SELECT i.symbol, h.max_net_exposure FROM hedge_thresholds h
               JOIN instruments i ON i.id = h.instrument_id WHERE h.enabled"""
        )
    }
    config = CoreConfig(
        instruments=instruments,
        groups=groups,
        rules=rules,
        staleness_ns=staleness_ms * 1_000_000,
        hedge_thresholds=thresholds,
        lp_prefix=lp_prefix,
    )
    return Reference(
        config=config,
        instrument_ids=instrument_ids,
        symbols_by_id={v: k for k, v in instrument_ids.items()},
        lp_ids=lp_ids,
        groups=infos,
        group_names=group_names,
    )


def _minutes(moment: time) -> int:
    """Minutes after midnight; 23:59:59.999999 (the stored form of 24:00) is 1440."""
    minutes = moment.hour * 60 + moment.minute
    return minutes + (1 if moment.second or moment.microsecond else 0)


def _sessions(conn: psycopg.Connection[Any]) -> dict[int, TradingSessions]:
    """Each instrument's trade sessions, less the days of its holiday calendar (dates in the
    sessions' zone); an instrument without sessions is always open, holidays or not."""
    windows: dict[int, list[Window]] = defaultdict(list)
    zones: dict[int, str] = {}
    for instrument_id, weekday, opens, closes, zone in conn.execute(
        """SELECT instrument_id, weekday, opens, closes, time_zone FROM trading_sessions
           WHERE kind = 'trade' ORDER BY instrument_id, weekday, opens"""
    ):
        windows[instrument_id].append(Window(weekday - 1, _minutes(opens), _minutes(closes)))
        zones[instrument_id] = zone
    closed: dict[int, set[date]] = defaultdict(set)
    for instrument_id, day in conn.execute(
        """SELECT i.id, h.day FROM instruments i
           JOIN holidays h ON h.holiday_calendar_id = i.holiday_calendar_id"""
    ):
        closed[instrument_id].add(day)
    return {
        i: TradingSessions(zones[i], tuple(w), frozenset(closed[i])) for i, w in windows.items()
    }


def _instruments(
    conn: psycopg.Connection[Any],
) -> tuple[list[Instrument], dict[str, int], dict[str, tuple[str, int]]]:
    sessions = _sessions(conn)
    instruments: list[Instrument] = []
    ids: dict[str, int] = {}
    symbol_groups: dict[str, tuple[str, int]] = {}  # symbol -> (symbol group, retail cap)
    rows = conn.execute(
        """SELECT id, symbol, digits, contract_size, base_currency, profit_currency,
                  margin_currency, margin_calc_mode, margin_rate_long, margin_rate_short,
                  hedged_margin_mode, hedged_margin_rate, tick_size, tick_value, swap_mode,
                  swap_long, swap_short, swap_triple_weekday, min_volume, max_volume,
                  volume_step, symbol_group, retail_max_leverage, enabled
           FROM instruments ORDER BY id"""
    ).fetchall()
    for row in rows:
        (iid, symbol, digits, contract, base, profit, margin, mode, rate_long, rate_short) = row[
            :10
        ]
        hedged_mode, hedged_rate, tick_size, tick_value, swap_mode = row[10:15]
        swap_long, swap_short, triple, vmin, vmax, vstep, symbol_group, cap, enabled = row[15:]
        instruments.append(
            Instrument(
                symbol,
                digits,
                contract,
                base,
                profit,
                margin,
                _CALC_MODES[mode],
                margin_rate_buy=rate_long,
                margin_rate_sell=rate_short,
                tick_size=tick_size,
                tick_value=tick_value,
                hedged_margin=Decimal(1) if hedged_mode == "full" else hedged_rate,
                hedged_larger_leg=hedged_mode == "larger_leg",
                volume_min=vmin.normalize(),
                volume_max=vmax.normalize(),
                volume_step=vstep.normalize(),
                swap_mode=SwapMode(swap_mode),
                swap_long=swap_long,
                swap_short=swap_short,
                triple_swap_weekday=triple - 1,
                sessions=sessions.get(iid),
                symbol_group=symbol_group,
                trade_enabled=enabled,
            )
        )
        ids[symbol] = iid
        symbol_groups[symbol] = (symbol_group, cap)
    return instruments, ids, symbol_groups


def _lps(conn: psycopg.Connection[Any]) -> tuple[dict[str, int], int]:
    rows = conn.execute("SELECT code, id, staleness_limit_ms, enabled FROM lps").fetchall()
    staleness = max((ms for _, _, ms, enabled in rows if enabled), default=_DEFAULT_STALENESS_MS)
    return {code: lp_id for code, lp_id, _, _ in rows}, staleness


def _commission_plans(conn: psycopg.Connection[Any]) -> dict[int, CommissionPlan]:
    """Each plan with its monthly volume tiers (a plan without any tier charges nothing)."""
    tiers: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for plan_id, lots, rate in conn.execute(
        """SELECT commission_plan_id, min_monthly_lots, rate FROM commission_plan_tiers
           ORDER BY commission_plan_id, min_monthly_lots"""
    ):
        tiers[plan_id].append((Decimal(lots), Decimal(rate)))
    plans: dict[int, CommissionPlan] = {}
    for plan_id, basis, charged_on in conn.execute(
        "SELECT id, basis, charged_on FROM commission_plans"
    ):
        found = tiers.get(plan_id)
        if found:
            (_, base), *higher = found
            plans[plan_id] = CommissionPlan(
                _COMMISSION_MODES[basis], base, ChargeOn(charged_on), tuple(higher)
            )
    return plans


def _groups(
    conn: psycopg.Connection[Any],
    instrument_ids: dict[str, int],
    plans: dict[int, CommissionPlan],
    symbol_groups: dict[str, tuple[str, int]],
) -> tuple[list[AccountGroup], dict[str, GroupInfo], dict[int, str], dict[int, list[str]]]:
    symbols = {v: k for k, v in instrument_ids.items()}
    markups: dict[int, dict[str, Markup]] = defaultdict(dict)
    symbol_plans: dict[int, dict[str, CommissionPlan]] = defaultdict(dict)
    for group_id, instrument_id, points, min_spread, plan_id in conn.execute(
        """SELECT account_group_id, instrument_id, markup_points, min_spread_points,
                  commission_plan_id FROM group_symbols"""
    ):
        # markup_points widens the spread in total: half comes off the bid, the rest on the ask
        symbol = symbols[instrument_id]
        markups[group_id][symbol] = Markup(points // 2, points - points // 2, min_spread)
        if plan_id in plans:
            symbol_plans[group_id][symbol] = plans[plan_id]
    groups: list[AccountGroup] = []
    infos: dict[str, GroupInfo] = {}
    names: dict[int, str] = {}
    policies: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(
        """SELECT g.id, g.code, b.id, b.code, g.account_kind, g.deposit_currency, g.leverage,
                  g.level_mode, g.margin_call_level, g.stop_out_level,
                  g.margin_call_blocks_new_exposure, g.position_mode, g.client_category,
                  g.negative_balance_protection, g.routing_policy_id, g.commission_plan_id,
                  g.max_positions, g.max_orders_per_second,
                  -- the brand's KYC ladder says which level trades (the one the portal and
                  -- the back office read); the old per-brand column only without a ladder
                  COALESCE((SELECT min(k.level) FROM kyc_levels k
                            WHERE k.brand_id = b.id AND k.trading), b.kyc_level_for_trading)
           FROM account_groups g JOIN brands b ON b.id = g.brand_id
           WHERE g.enabled ORDER BY g.id"""
    ):
        (gid, code, brand_id, brand, kind, currency, leverage, level_mode, call, stop) = row[:10]
        blocks, position_mode, category, nbp, policy_id, plan_id, max_pos, rate, kyc = row[10:]
        retail = category == "retail"
        caps = {sg: min(leverage, cap) for sg, cap in symbol_groups.values() if retail and cap}
        commissions = dict(symbol_plans[gid])
        if plan_id in plans:
            commissions["*"] = plans[plan_id]
        groups.append(
            AccountGroup(
                code,
                currency=currency,
                currency_digits=currency_digits(currency),
                brand=brand,
                accounting=Accounting(position_mode),
                leverage=leverage,
                leverage_by_symbol_group=caps,
                level_mode=LevelMode(level_mode),
                margin_call_level=call,
                stop_out_level=stop,
                markups=markups[gid],
                commissions=commissions,
                negative_balance_protection=nbp,
                block_new_on_margin_call=blocks,
                max_positions=max_pos or 0,
                min_kyc_level=kyc if kind == "live" else 0,
                orders_per_second=rate or 0,
                retail=retail,
            )
        )
        infos[code] = GroupInfo(gid, brand_id, brand, currency, kind)
        names[gid] = code
        if policy_id is not None:
            policies[policy_id].append(code)
    return groups, infos, names, policies


def _rules(
    conn: psycopg.Connection[Any],
    policies: dict[int, list[str]],
    group_names: dict[int, str],
    instrument_ids: dict[str, int],
    lp_ids: dict[str, int],
) -> list[RoutingRule]:
    """Each policy's rules for the groups using it; a group's rules keep their priority."""
    symbols = {v: k for k, v in instrument_ids.items()}
    lps = {v: k for k, v in lp_ids.items()}
    rules: list[RoutingRule] = []
    for row in conn.execute(
        """SELECT routing_policy_id, priority, account_group_id, trading_account_id,
                  instrument_id, symbol_group, min_volume, max_volume, min_toxicity,
                  max_toxicity, min_margin_level, max_margin_level, action, hedge_ratio, lp_id
           FROM routing_rules WHERE enabled ORDER BY routing_policy_id, priority"""
    ):
        (policy_id, priority, group_id, account_id, instrument_id, symbol_group) = row[:6]
        vmin, vmax, tmin, tmax, lmin, lmax, action, ratio, lp_id = row[6:]
        groups = set(policies.get(policy_id, ()))
        if group_id is not None:
            groups &= {group_names.get(group_id, "")}
        if not groups:
            continue
        rules.append(
            RoutingRule(
                _ACTIONS[action],
                groups=frozenset(groups),
                accounts=frozenset() if account_id is None else frozenset({account_id}),
                symbols=frozenset()
                if instrument_id is None
                else frozenset({symbols[instrument_id]}),
                symbol_groups=frozenset() if symbol_group is None else frozenset({symbol_group}),
                min_volume=vmin,
                max_volume=vmax,
                min_toxicity=None if tmin is None else toxicity(tmin),
                max_toxicity=None if tmax is None else toxicity(tmax),
                min_margin_level=lmin,
                max_margin_level=lmax,
                hedge_ratio=Decimal(0) if ratio is None else ratio,
                lp=None if lp_id is None else lps[lp_id],
                name=f"{policy_id}:{priority}",
            )
        )
    return rules
