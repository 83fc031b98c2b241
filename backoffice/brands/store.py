"""Reading and changing a brand's rules (``brand_settings``, ``brand_default_groups``,
``brand_leverage_caps``, the KYC gates on ``brands``); every change audited with before and
after, every read within the staff member's brands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from backoffice.audit import Actor, record
from backoffice.brands.rules import ACCOUNT_KINDS, BrandRules
from backoffice.errors import invalid, not_found
from backoffice.scope import BrandScope

T = TypeVar("T")

# a brand with no settings row yet has the table's defaults
_DEFAULTS: dict[str, Any] = {
    "allowed_countries": [],
    "blocked_countries": [],
    "maker_checker_threshold": Decimal(1000),
    "maker_checker_currency": "USD",
    "mail_from_name": "",
    "mail_from_address": "",
}


@dataclass(frozen=True, slots=True)
class LeverageCap:
    country: str
    symbol_group: str
    max_leverage: int


@dataclass(frozen=True, slots=True)
class BrandConfig:
    """A brand's rules as staff see and edit them (groups by code)."""

    id: int
    code: str
    name: str
    allowed_countries: list[str]
    blocked_countries: list[str]
    default_groups: dict[str, str]
    leverage_caps: list[LeverageCap]
    maker_checker_threshold: Decimal
    maker_checker_currency: str
    mail_from_name: str
    mail_from_address: str


@dataclass(frozen=True, slots=True)
class BrandChange:
    """What to change; a field left None stays as it is (lists replace the whole list)."""

    allowed_countries: Sequence[str] | None = None
    blocked_countries: Sequence[str] | None = None
    default_groups: Mapping[str, str] | None = None
    leverage_caps: Sequence[LeverageCap] | None = None
    maker_checker_threshold: Decimal | None = None
    maker_checker_currency: str | None = None
    mail_from_name: str | None = None
    mail_from_address: str | None = None


def brand_rules(conn: psycopg.Connection[Any], brand_id: int) -> BrandRules:
    """The rules other areas apply (registration, account opening, admin actions)."""
    with conn.cursor(row_factory=dict_row) as cur:
        brand = cur.execute(
            """SELECT b.id, b.code, b.kyc_level_for_deposit, b.kyc_level_for_live_account,
                      b.kyc_level_for_trading, s.allowed_countries, s.blocked_countries,
                      s.maker_checker_threshold, s.maker_checker_currency, s.mail_from_name,
                      s.mail_from_address
               FROM brands b LEFT JOIN brand_settings s ON s.brand_id = b.id WHERE b.id = %s""",
            (brand_id,),
        ).fetchone()
    if brand is None:
        raise not_found("brand", brand_id)
    settings = {k: _DEFAULTS[k] if brand[k] is None else brand[k] for k in _DEFAULTS}
    groups = conn.execute(
        "SELECT account_kind, account_group_id FROM brand_default_groups WHERE brand_id = %s",
        (brand_id,),
    ).fetchall()
    caps = conn.execute(
        "SELECT country, symbol_group, max_leverage FROM brand_leverage_caps WHERE brand_id = %s",
        (brand_id,),
    ).fetchall()
    return BrandRules(
        brand_id=int(brand["id"]),
        code=str(brand["code"]),
        allowed_countries=frozenset(settings["allowed_countries"]),
        blocked_countries=frozenset(settings["blocked_countries"]),
        maker_checker_threshold=Decimal(settings["maker_checker_threshold"]),
        maker_checker_currency=str(settings["maker_checker_currency"]),
        mail_from_name=str(settings["mail_from_name"]),
        mail_from_address=str(settings["mail_from_address"]),
        kyc_level_for_deposit=int(brand["kyc_level_for_deposit"]),
        kyc_level_for_live_account=int(brand["kyc_level_for_live_account"]),
        kyc_level_for_trading=int(brand["kyc_level_for_trading"]),
        default_groups={str(k): int(g) for k, g in groups},
        leverage_caps={(str(c), str(g)): int(m) for c, g, m in caps},
    )


def list_brands(conn: psycopg.Connection[Any], scope: BrandScope) -> list[BrandConfig]:
    ids = conn.execute(
        "SELECT id FROM brands WHERE (%(b)s::bigint[] IS NULL OR id = ANY(%(b)s)) ORDER BY id",
        {"b": scope.param},
    ).fetchall()
    return [_config(conn, int(r[0])) for r in ids]


def brand_config(conn: psycopg.Connection[Any], scope: BrandScope, brand_id: int) -> BrandConfig:
    if not scope.allows(brand_id):
        raise not_found("brand", brand_id)
    return _config(conn, brand_id)


def update_brand(
    conn: psycopg.Connection[Any],
    actor: Actor,
    scope: BrandScope,
    brand_id: int,
    change: BrandChange,
) -> BrandConfig:
    before = brand_config(conn, scope, brand_id)
    allowed = (
        before.allowed_countries
        if change.allowed_countries is None
        else sorted(set(change.allowed_countries))
    )
    blocked = (
        before.blocked_countries
        if change.blocked_countries is None
        else sorted(set(change.blocked_countries))
    )
    if set(allowed) & set(blocked):
        raise invalid("blocked_countries", "a country cannot be both allowed and blocked")
    merged = {
        "allowed_countries": allowed,
        "blocked_countries": blocked,
        "maker_checker_threshold": _pick(change.maker_checker_threshold,
                                         before.maker_checker_threshold),
        "maker_checker_currency": _pick(change.maker_checker_currency,
                                        before.maker_checker_currency),
        "mail_from_name": _pick(change.mail_from_name, before.mail_from_name),
        "mail_from_address": _pick(change.mail_from_address, before.mail_from_address),
    }  # fmt: skip
    conn.execute(
        """INSERT INTO brand_settings (brand_id, allowed_countries, blocked_countries,
               maker_checker_threshold, maker_checker_currency, mail_from_name,
               mail_from_address)
           VALUES (%(brand_id)s, %(allowed_countries)s, %(blocked_countries)s,
               %(maker_checker_threshold)s, %(maker_checker_currency)s, %(mail_from_name)s,
               %(mail_from_address)s)
           ON CONFLICT (brand_id) DO UPDATE SET allowed_countries = EXCLUDED.allowed_countries,
               blocked_countries = EXCLUDED.blocked_countries,
               maker_checker_threshold = EXCLUDED.maker_checker_threshold,
               maker_checker_currency = EXCLUDED.maker_checker_currency,
               mail_from_name = EXCLUDED.mail_from_name,
               mail_from_address = EXCLUDED.mail_from_address, updated_at = now()""",
        {"brand_id": brand_id, **merged},
    )
    if change.default_groups is not None:
        _set_default_groups(conn, brand_id, change.default_groups)
    if change.leverage_caps is not None:
        conn.execute("DELETE FROM brand_leverage_caps WHERE brand_id = %s", (brand_id,))
        for cap in {(c.country, c.symbol_group): c for c in change.leverage_caps}.values():
            conn.execute(
                """INSERT INTO brand_leverage_caps (brand_id, country, symbol_group, max_leverage)
                   VALUES (%s, %s, %s, %s)""",
                (brand_id, cap.country, cap.symbol_group, cap.max_leverage),
            )
    after = _config(conn, brand_id)
    if after != before:
        record(conn, actor, "brand.update", "brand", brand_id, _view(before), _view(after))
    return after


def _pick(new: T | None, old: T) -> T:
    return old if new is None else new


def _set_default_groups(
    conn: psycopg.Connection[Any], brand_id: int, groups: Mapping[str, str]
) -> None:
    for kind, code in groups.items():
        if kind not in ACCOUNT_KINDS:
            raise invalid("default_groups", f"no account kind {kind}")
        row = conn.execute(
            "SELECT id, account_kind FROM account_groups WHERE brand_id = %s AND code = %s",
            (brand_id, code),
        ).fetchone()
        if row is None or row[1] != kind:
            raise invalid("default_groups", f"the brand has no {kind} group {code}")
        conn.execute(
            """INSERT INTO brand_default_groups (brand_id, account_kind, account_group_id)
               VALUES (%s, %s, %s) ON CONFLICT (brand_id, account_kind)
               DO UPDATE SET account_group_id = EXCLUDED.account_group_id""",
            (brand_id, kind, row[0]),
        )


def _config(conn: psycopg.Connection[Any], brand_id: int) -> BrandConfig:
    rules = brand_rules(conn, brand_id)
    name = conn.execute("SELECT name FROM brands WHERE id = %s", (brand_id,)).fetchone()
    codes = dict(
        conn.execute(
            """SELECT d.account_kind, g.code FROM brand_default_groups d
               JOIN account_groups g ON g.id = d.account_group_id WHERE d.brand_id = %s""",
            (brand_id,),
        ).fetchall()
    )
    return BrandConfig(
        id=rules.brand_id,
        code=rules.code,
        name=str(name[0]) if name else rules.code,
        allowed_countries=sorted(rules.allowed_countries),
        blocked_countries=sorted(rules.blocked_countries),
        default_groups={str(k): str(v) for k, v in sorted(codes.items())},
        leverage_caps=[LeverageCap(c, g, m) for (c, g), m in sorted(rules.leverage_caps.items())],
        maker_checker_threshold=rules.maker_checker_threshold,
        maker_checker_currency=rules.maker_checker_currency,
        mail_from_name=rules.mail_from_name,
        mail_from_address=rules.mail_from_address,
    )


def _view(config: BrandConfig) -> dict[str, Any]:
    return {
        "allowed_countries": config.allowed_countries,
        "blocked_countries": config.blocked_countries,
        "default_groups": config.default_groups,
        "leverage_caps": [[c.country, c.symbol_group, c.max_leverage]
                          for c in config.leverage_caps],
        "maker_checker_threshold": str(config.maker_checker_threshold),
        "maker_checker_currency": config.maker_checker_currency,
        "mail_from_name": config.mail_from_name,
        "mail_from_address": config.mail_from_address,
    }  # fmt: skip
