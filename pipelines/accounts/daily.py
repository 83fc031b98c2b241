"""MT5's Daily report per trading account and trade date.

Closing figures (balance, credit, floating P/L, equity, margin, free margin, level) are the
execution core's statement at the day's cut; the day's movements come from the ledger
(deposits, withdrawals, corrections, write-offs: each trading-account entry classified by its
transfer) and from the deals (closed P/L, swaps, commissions, fees, volume). The previous
balance is the statement at the previous cut, or for an account the core had not stated yet,
its ledger balance then. Two checks hold the report to its sources: the balances roll forward,
and the report's movements equal the ledger's for the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from pipelines.partitions import TradingDay

# The day's ledger movements per trading account, by the kind of transfer that made them.
_MOVES = """
    SELECT la.trading_account_id AS account_id,
           coalesce(sum(-e.amount) FILTER (WHERE t.kind = 'trading_deposit'), 0) AS deposit,
           coalesce(sum(e.amount) FILTER (WHERE t.kind = 'trading_withdrawal'), 0) AS withdrawal,
           coalesce(sum(-e.amount) FILTER (WHERE t.kind = 'correction'), 0) AS correction,
           coalesce(sum(-e.amount) FILTER (WHERE t.kind = 'trading_result' AND EXISTS (
               SELECT 1 FROM ledger_entries o JOIN ledger_accounts ol ON ol.id = o.ledger_account_id
               WHERE o.transfer_id = t.id AND ol.kind = 'negative_balance_writeoff')), 0)
               AS write_off,
           sum(-e.amount) AS total
    FROM ledger_entries e
    JOIN ledger_accounts la ON la.id = e.ledger_account_id AND la.kind = 'trading_account'
    JOIN ledger_transfers t ON t.id = e.transfer_id
    WHERE t.created_at >= %(start)s AND t.created_at < %(cut)s
    GROUP BY la.trading_account_id
"""

_DEALS = """
    SELECT trading_account_id AS account_id, sum(profit) AS closed_profit, sum(swap) AS swap,
           sum(commission) AS commission, sum(fee) AS fee, sum(volume) AS volume
    FROM deals WHERE executed_at >= %(start)s AND executed_at < %(cut)s
    GROUP BY trading_account_id
"""

_INSERT = f"""
    INSERT INTO reports.daily_accounts (
        trade_date, trading_account_id, login, brand_id, client_id, name, account_group,
        leverage, currency, usd_rate, previous_balance, deposit, withdrawal, credit_change,
        correction, write_off, closed_profit, swap, commission, fee, balance, credit,
        floating_profit, equity, margin, free_margin, margin_level, volume_lots)
    SELECT %(trade_date)s, a.id, a.login, g.brand_id, a.client_id,
           c.first_name || ' ' || c.last_name, g.code, coalesce(a.leverage, g.leverage),
           s.currency, CASE WHEN s.currency = 'USD' THEN 1 ELSE r.usd_rate END,
           coalesce(p.balance, (
               SELECT coalesce(-sum(e.amount), 0) FROM ledger_entries e
               JOIN ledger_accounts la ON la.id = e.ledger_account_id
               JOIN ledger_transfers t ON t.id = e.transfer_id
               WHERE la.trading_account_id = a.id AND la.kind = 'trading_account'
                 AND t.created_at < %(start)s)),
           coalesce(m.deposit, 0), coalesce(m.withdrawal, 0),
           s.credit - coalesce(p.credit, 0), coalesce(m.correction, 0), coalesce(m.write_off, 0),
           coalesce(d.closed_profit, 0), coalesce(d.swap, 0), coalesce(d.commission, 0),
           coalesce(d.fee, 0), s.balance, s.credit, s.floating_profit, s.equity, s.margin,
           s.free_margin, s.margin_level, coalesce(d.volume, 0)
    FROM account_statements s
    JOIN trading_accounts a ON a.id = s.trading_account_id
    JOIN account_groups g ON g.id = a.account_group_id
    JOIN clients c ON c.id = a.client_id
    LEFT JOIN account_statements p ON p.trading_account_id = a.id AND p.cut = %(start)s
    LEFT JOIN cut_rates r ON r.cut = s.cut AND r.currency = s.currency
    LEFT JOIN ({_MOVES}) m ON m.account_id = a.id
    LEFT JOIN ({_DEALS}) d ON d.account_id = a.id
    WHERE s.cut = %(cut)s
"""


class CutNotApplied(RuntimeError):
    """The day had trading or money movements but the execution core has not stated its
    accounts at the cut yet (the service has not run through it)."""


@dataclass(frozen=True, slots=True)
class DailyReport:
    accounts: int
    deposits: Decimal
    withdrawals: Decimal
    closed_profit: Decimal


def _params(day: TradingDay) -> dict[str, Any]:
    return {"trade_date": day.trade_date, "start": day.start, "cut": day.cut}


def build_daily_accounts(conn: psycopg.Connection[Any], day: TradingDay) -> DailyReport:
    """Replace the day's rows of ``reports.daily_accounts`` (in the caller's transaction)."""
    params = _params(day)
    stated = conn.execute(
        "SELECT count(*) FROM account_statements WHERE cut = %(cut)s", params
    ).fetchone()
    active = conn.execute(f"SELECT EXISTS ({_DEALS}) OR EXISTS ({_MOVES})", params).fetchone()
    if stated == (0,) and active == (True,):
        raise CutNotApplied(
            f"trade date {day.trade_date}: deals or ledger movements but no account statements "
            f"at the cut {day.cut.isoformat()}; run the day after the execution service has "
            "applied its cut"
        )
    conn.execute("DELETE FROM reports.daily_accounts WHERE trade_date = %(trade_date)s", params)
    conn.execute(_INSERT, params)
    row = conn.execute(
        """SELECT count(*), coalesce(sum(deposit), 0), coalesce(sum(withdrawal), 0),
                  coalesce(sum(closed_profit), 0)
           FROM reports.daily_accounts WHERE trade_date = %(trade_date)s""",
        params,
    ).fetchone()
    assert row is not None
    return DailyReport(int(row[0]), row[1], row[2], row[3])


def unrolled_balances(conn: psycopg.Connection[Any], day: TradingDay) -> list[tuple[Any, ...]]:
    """Accounts whose previous balance plus the day's movements is not their balance:
    (login, expected, reported)."""
    return conn.execute(
        """SELECT login, previous_balance + deposit - withdrawal + correction + write_off
                         + closed_profit + swap + commission AS expected, balance
           FROM reports.daily_accounts
           WHERE trade_date = %(trade_date)s
             AND previous_balance + deposit - withdrawal + correction + write_off
                 + closed_profit + swap + commission <> balance
           ORDER BY login""",
        _params(day),
    ).fetchall()


def ledger_difference(conn: psycopg.Connection[Any], day: TradingDay) -> tuple[Decimal, Decimal]:
    """(the report's movements for the day, the ledger's movements on trading accounts)."""
    params = _params(day)
    reported = conn.execute(
        """SELECT coalesce(sum(deposit - withdrawal + correction + write_off + closed_profit
                               + swap + commission), 0)
           FROM reports.daily_accounts WHERE trade_date = %(trade_date)s""",
        params,
    ).fetchone()
    ledger = conn.execute(f"SELECT coalesce(sum(total), 0) FROM ({_MOVES}) m", params).fetchone()
    assert reported is not None
    assert ledger is not None
    return Decimal(reported[0]), Decimal(ledger[0])
