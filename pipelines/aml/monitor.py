"""AML monitoring of a trading day against the warehouse: the day's succeeded payments with
their clients' history, the rules of :mod:`pipelines.aml.rules`, one alert row per hit.

Alerts are never replaced (compliance works them: open, in a case, closed); a hit whose
fingerprint is already there is skipped, so a re-run or a backfill adds only new hits.
Amounts convert to EUR through USD at the day's cut rates; a currency without a rate stops
the run, since a rule skipped for want of a rate would pass a payment silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pipelines.aml.rules import Client, Day, Hit, Payment, Thresholds, Trade, evaluate, fingerprint
from pipelines.partitions import TradingDay

_PLACES = Decimal("0.00000001")


class AmlDataError(RuntimeError):
    """The day cannot be screened as it stands (e.g. a rate missing at the cut)."""


@dataclass(frozen=True, slots=True)
class Screening:
    payments: int  # of the day
    clients: int
    hits: int
    new_alerts: int
    by_rule: dict[str, int]


class _Rates:
    def __init__(self, usd_rates: dict[str, Decimal]) -> None:
        self.usd = {"USD": Decimal(1), **usd_rates}

    def needs(self, currencies: set[str]) -> None:
        wanted = currencies - {"EUR"}
        if wanted:
            wanted.add("EUR")  # converting into EUR needs EUR's own rate
        if missing := sorted(wanted - self.usd.keys()):
            raise AmlDataError(f"no cut rate for {', '.join(missing)}")

    def eur(self, amount: Decimal, currency: str) -> Decimal:
        if currency == "EUR":
            return amount
        return (amount * self.usd[currency] / self.usd["EUR"]).quantize(_PLACES)


def screen_day(conn: psycopg.Connection[Any], day: TradingDay, t: Thresholds) -> Screening:
    """Run every rule over the day and store its new alerts, in one transaction."""
    window = Day(day.start, day.end)
    since = day.end - t.lookback
    with conn.transaction():
        client_ids = [
            r[0]
            for r in conn.execute(
                """SELECT DISTINCT client_id FROM payments
               WHERE status = 'succeeded' AND created_at >= %s AND created_at < %s""",
                (day.start, day.end),
            )
        ]
        rates = _Rates(
            dict(
                conn.execute(
                    "SELECT currency, usd_rate FROM cut_rates WHERE cut = %s", (day.cut,)
                ).fetchall()
            )
        )
        raw_payments = conn.execute(
            """SELECT id, client_id, direction, method, amount, currency, created_at,
                      payer_name, payer_country
               FROM payments
               WHERE status = 'succeeded' AND client_id = ANY(%s)
                 AND created_at >= %s AND created_at < %s""",
            (client_ids, since, day.end),
        ).fetchall()
        raw_trades = conn.execute(
            """SELECT ta.client_id, d.executed_at, d.volume * i.contract_size * d.price,
                      i.profit_currency
               FROM deals d
               JOIN trading_accounts ta ON ta.id = d.trading_account_id
               JOIN instruments i ON i.id = d.instrument_id
               WHERE ta.kind = 'live' AND ta.client_id = ANY(%s)
                 AND d.executed_at >= %s AND d.executed_at < %s""",
            (client_ids, since, day.end),
        ).fetchall()
        rates.needs({r[5] for r in raw_payments} | {r[3] for r in raw_trades})
        payments = [
            Payment(
                pid,
                cid,
                direction,
                method,
                amount,
                currency,
                rates.eur(amount, currency),
                at,
                payer,
                country,
            )
            for pid, cid, direction, method, amount, currency, at, payer, country in raw_payments
        ]
        trades = [Trade(cid, at, rates.eur(n, cur)) for cid, at, n, cur in raw_trades]
        clients = {
            cid: Client(cid, first, last)
            for cid, first, last in conn.execute(
                "SELECT id, first_name, last_name FROM clients WHERE id = ANY(%s)", (client_ids,)
            )
        }
        hits = evaluate(clients, payments, trades, window, t)
        new = sum(_store(conn, hit, day) for hit in hits)
    by_rule: dict[str, int] = {}
    for hit in hits:
        by_rule[hit.rule] = by_rule.get(hit.rule, 0) + 1
    today = sum(1 for p in payments if p.at in window)
    return Screening(today, len(client_ids), len(hits), new, by_rule)


def _store(conn: psycopg.Connection[Any], hit: Hit, day: TradingDay) -> bool:
    details = {**hit.details, "payment_ids": list(hit.payment_ids)}
    row = conn.execute(
        """INSERT INTO aml_alerts (client_id, rule, trade_date, fingerprint, details)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (fingerprint) DO NOTHING RETURNING id""",
        (hit.client_id, hit.rule, day.trade_date, hit.fingerprint, Jsonb(details)),
    ).fetchone()
    return row is not None


def alert_problems(conn: psycopg.Connection[Any], day: TradingDay) -> list[str]:
    """Alerts of the day that do not stand on real rows: each must name payments that exist,
    belong to its client, and carry the fingerprint of its rule and payments."""
    problems = []
    alerts = conn.execute(
        """SELECT a.id, a.client_id, a.rule, a.fingerprint, a.details->'payment_ids',
                  c.id IS NOT NULL
           FROM aml_alerts a LEFT JOIN clients c ON c.id = a.client_id
           WHERE a.trade_date = %s ORDER BY a.id""",
        (day.trade_date,),
    ).fetchall()
    for alert_id, client_id, rule, stored, ids, client_exists in alerts:
        if not client_exists:
            problems.append(f"alert {alert_id}: no client {client_id}")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            problems.append(f"alert {alert_id}: names no payments")
            continue
        found = {
            r[0]
            for r in conn.execute(
                """SELECT id FROM payments
                   WHERE id = ANY(%s) AND client_id = %s""",
                (ids, client_id),
            )
        }
        if missing := sorted(set(ids) - found):
            problems.append(f"alert {alert_id}: payments {missing} missing or not the client's")
        if stored != fingerprint(rule, ids):
            problems.append(f"alert {alert_id}: fingerprint is not its rule's and payments'")
    return problems
