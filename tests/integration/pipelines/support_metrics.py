"""Seeding for the metrics and partners tests: leads, KYC applications, IB partners and
accruals, prop products and challenges, as the back office would have written them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import count
from typing import Any

import psycopg

from tests.integration.pipelines.support import brand_id, one

_keys = count(1)


def lead(
    conn: psycopg.Connection[Any],
    *,
    source: str,
    created_at: datetime,
    client_id: int | None = None,
) -> int:
    """A lead; with a client it is the converted lead of that client."""
    n = next(_keys)
    return int(
        one(
            conn,
            """INSERT INTO leads (brand_id, email, source, status, client_id, created_at)
               VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
            (
                brand_id(conn),
                f"lead{n}@example.test",
                source,
                "registered" if client_id else "new",
                client_id,
                created_at,
            ),
        )
    )


def kyc_application(
    conn: psycopg.Connection[Any],
    client_id: int,
    created_at: datetime,
    *,
    status: str = "submitted",
    decided_at: datetime | None = None,
) -> int:
    answer, reject = {
        "approved": ("GREEN", None),
        "rejected": ("RED", "FINAL"),
        "resubmission_requested": ("RED", "RETRY"),
    }.get(status, (None, None))
    return int(
        one(
            conn,
            """INSERT INTO kyc_applications (client_id, provider, provider_applicant_id,
                   target_level, status, review_answer, reject_type, created_at, updated_at,
                   decided_at)
               VALUES (%s, 'sumsub-sim', %s, 1, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (
                client_id,
                f"app-{next(_keys)}",
                status,
                answer,
                reject,
                created_at,
                decided_at or created_at,
                decided_at,
            ),
        )
    )


def ib_partner(conn: psycopg.Connection[Any], name: str, parent_id: int | None = None) -> int:
    return int(
        one(
            conn,
            """INSERT INTO ib_partners (brand_id, parent_id, referral_code, name)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (brand_id(conn), parent_id, f"ref-{next(_keys)}", name),
        )
    )


def ib_plan_version(conn: psycopg.Connection[Any], currency: str = "USD") -> int:
    plan = one(
        conn,
        "INSERT INTO ib_plans (brand_id, code, name) VALUES (%s, %s, 'Rebate') RETURNING id",
        (brand_id(conn), f"plan-{next(_keys)}"),
    )
    return int(
        one(
            conn,
            """INSERT INTO ib_plan_versions (ib_plan_id, version, valid_from, kind, currency)
               VALUES (%s, 1, '2026-01-01', 'per_lot_rebate', %s) RETURNING id""",
            (plan, currency),
        )
    )


def accrual(
    conn: psycopg.Connection[Any],
    partner_id: int,
    plan_version_id: int,
    deal_id: int,
    deal_executed_at: datetime,
    amount: Decimal,
    currency: str = "USD",
    *,
    level: int = 1,
    kind: str = "accrual",
) -> None:
    """An accrual row; a reversal is passed with its (negative) amount, as it is stored."""
    conn.execute(
        """INSERT INTO ib_commission_accruals (deal_id, deal_executed_at, ib_partner_id, level,
               ib_plan_version_id, kind, amount, currency)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (deal_id, deal_executed_at, partner_id, level, plan_version_id, kind, amount, currency),
    )


def prop_product(conn: psycopg.Connection[Any], code: str, fee: Decimal) -> int:
    """A 2-step product (challenge, verification, funded) on the demo group."""
    product = int(
        one(
            conn,
            """INSERT INTO prop_products (brand_id, code, name, account_size, currency, fee)
               VALUES (%s, %s, %s, 100000, 'USD', %s) RETURNING id""",
            (brand_id(conn), code, code, fee),
        )
    )
    group = one(conn, "SELECT id FROM account_groups WHERE code = 'demo-usd'")
    for phase_no, name, target in ((1, "challenge", "0.1"), (2, "verification", "0.05"),
                                   (3, "funded", None)):  # fmt: skip
        conn.execute(
            """INSERT INTO prop_product_phases (prop_product_id, phase_no, name,
                   account_group_id, profit_target, max_daily_loss, max_loss, leverage)
               VALUES (%s, %s, %s, %s, %s, 0.05, 0.1, 100)""",
            (product, phase_no, name, group, target),
        )
    return product


def prop_challenge(
    conn: psycopg.Connection[Any],
    product_id: int,
    client_id: int,
    purchased_at: datetime,
    *,
    status: str = "active",
    ended_at: datetime | None = None,
) -> int:
    return int(
        one(
            conn,
            """INSERT INTO prop_challenges (prop_product_id, client_id, status, purchased_at,
                   ended_at)
               VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            (product_id, client_id, status, purchased_at, ended_at),
        )
    )


def prop_phase(
    conn: psycopg.Connection[Any],
    challenge_id: int,
    phase_no: int,
    trading_account_id: int,
    started_at: datetime,
    *,
    status: str = "active",
    ended_at: datetime | None = None,
) -> None:
    """A phase; a breached one is breached at ``ended_at`` (on the daily loss rule)."""
    breached = status == "breached"
    conn.execute(
        """INSERT INTO prop_challenge_phases (prop_challenge_id, phase_no, trading_account_id,
               status, initial_balance, highest_eod_balance, breach_rule, breached_at,
               started_at, ended_at)
           VALUES (%s, %s, %s, %s, 100000, 100000, %s, %s, %s, %s)""",
        (
            challenge_id,
            phase_no,
            trading_account_id,
            status,
            "daily_loss" if breached else None,
            ended_at if breached else None,
            started_at,
            ended_at,
        ),
    )
