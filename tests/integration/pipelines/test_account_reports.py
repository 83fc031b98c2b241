"""MT5's Daily, Trade accounts and Summary reports from a seeded trading day: Monday
2026-03-09, whose window (Friday 17:00 New York to Monday 17:00 New York) crosses the start of
US daylight saving time, so it runs 2026-03-06 22:00 UTC to 2026-03-09 21:00 UTC."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import psycopg

from pipelines.assets.accounts import (
    balances_roll_forward,
    daily_account_report,
    daily_report_files,
    monthly_summary,
    report_matches_ledger,
)
from tests.integration.pipelines import support as s
from tests.integration.pipelines.conftest import Runner, check_results

KEY = "2026-03-06"  # the window's start; the trade date is Monday 2026-03-09
PREVIOUS_CUT = datetime(2026, 3, 6, 22, 0, tzinfo=UTC)  # 17:00 EST
CUT = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)  # 17:00 EDT
REPORT = [daily_account_report, balances_roll_forward, report_matches_ledger]


def _seed_day(conn: psycopg.Connection[Any]) -> tuple[s.Account, s.Account]:
    usd = s.account(conn, s.client(conn, first_name="Anna", last_name="Novak"))
    eur = s.account(
        conn, s.client(conn, first_name="Jan", last_name="Berg", country="DE"),
        group="retail-eu-hedging",
    )  # fmt: skip
    # USD: stated 1000 at Friday's cut; deposits 500 an hour before Monday's cut (in the day)
    # and 300 half an hour after it (21:30 UTC is before 22:00: only DST makes it next day's)
    s.trading_deposit(conn, usd, D(1000), datetime(2026, 3, 5, 12, tzinfo=UTC))
    s.statement(conn, usd, PREVIOUS_CUT, balance=D(1000))
    s.trading_deposit(conn, usd, D(500), datetime(2026, 3, 9, 20, 0, tzinfo=UTC))
    s.trading_deposit(conn, usd, D(300), datetime(2026, 3, 9, 21, 30, tzinfo=UTC))
    pos = s.position(conn, usd, "EURUSD", "BUY", D("0.5"), D("1.08000"),
                     datetime(2026, 3, 6, 23, 0, tzinfo=UTC))  # fmt: skip
    s.deal(conn, usd, pos, "EURUSD", "BUY", "IN", D("0.5"), D("1.08000"),
           datetime(2026, 3, 6, 23, 0, tzinfo=UTC), commission=D("-1.75"))  # fmt: skip
    s.deal(conn, usd, pos, "EURUSD", "SELL", "OUT", D("0.2"), D("1.09200"),
           datetime(2026, 3, 9, 14, 0, tzinfo=UTC), profit=D("240.00"), commission=D("-0.70"),
           swap=D("-3.00"))  # fmt: skip
    # 1000 + 500 - 1.75 + 240 - 0.70 - 3.00 = 1734.55; 0.3 lot still open
    s.statement(conn, usd, CUT, balance=D("1734.55"), floating=D("45.00"), margin=D("324.00"))
    # EUR: never stated before; 2000 deposited on Thursday, 250 withdrawn on Monday
    s.trading_deposit(conn, eur, D(2000), datetime(2026, 3, 5, 9, tzinfo=UTC))
    s.trading_deposit(conn, eur, D(-250), datetime(2026, 3, 9, 8, tzinfo=UTC))
    s.statement(conn, eur, CUT, balance=D(1750))
    s.cut_rates(conn, CUT, {"EUR": D("1.085")})
    return usd, eur


def _row(conn: psycopg.Connection[Any], acc: s.Account) -> dict[str, Any]:
    cur = conn.execute(
        "SELECT * FROM reports.daily_accounts WHERE trading_account_id = %s", (acc.id,)
    )
    names = [d.name for d in cur.description or ()]
    row = cur.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def test_the_daily_report_at_the_cut_of_a_day_crossing_dst(
    conn: psycopg.Connection[Any], run: Runner, tmp_path: Path
) -> None:
    usd, eur = _seed_day(conn)
    result = run([*REPORT, daily_report_files], KEY)
    assert check_results(result) == {"balances_roll_forward": True, "report_matches_ledger": True}
    usd_row = _row(conn, usd)
    assert usd_row["trade_date"].isoformat() == "2026-03-09"
    assert {k: usd_row[k] for k in (
        "previous_balance", "deposit", "withdrawal", "closed_profit", "swap", "commission",
        "balance", "floating_profit", "equity", "margin", "free_margin", "volume_lots",
        "usd_rate", "name", "account_group",
    )} == {
        "previous_balance": D(1000), "deposit": D(500), "withdrawal": D(0),
        "closed_profit": D(240), "swap": D(-3), "commission": D("-2.45"),
        "balance": D("1734.55"), "floating_profit": D(45), "equity": D("1779.55"),
        "margin": D(324), "free_margin": D("1455.55"), "volume_lots": D("0.7"),
        "usd_rate": D(1), "name": "Anna Novak", "account_group": "professional-netting",
    }  # fmt: skip
    eur_row = _row(conn, eur)
    # never stated before the day: the previous balance is the ledger's at the window's start
    assert (eur_row["previous_balance"], eur_row["withdrawal"], eur_row["balance"]) == (
        D(2000),
        D(250),
        D(1750),
    )
    assert eur_row["usd_rate"] == D("1.085")
    folder = tmp_path / "data" / "exports" / "reports" / "2026-03-09"
    with (folder / "daily.csv").open() as handle:
        rows = {r["Login"]: r for r in csv.DictReader(handle)}
    assert rows[str(eur.login)]["Equity USD"] == "1898.75"  # 1750 x 1.085
    assert rows[str(usd.login)]["Prev Balance"].startswith("1000")
    with (folder / "trade-accounts.csv").open() as handle:
        trade = list(csv.DictReader(handle))
    assert {r["Login"] for r in trade} == {str(usd.login), str(eur.login)}
    assert (folder / "daily.csv.sha256").read_text().split()[0]


def test_a_rerun_replaces_the_day(conn: psycopg.Connection[Any], run: Runner) -> None:
    _seed_day(conn)
    run(REPORT, KEY)
    run(REPORT, KEY)
    assert s.one(conn, "SELECT count(*) FROM reports.daily_accounts") == 2


def test_balances_that_do_not_roll_forward_stop_the_report(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    usd, _ = _seed_day(conn)
    # a deposit the core never saw: the ledger has it, the statement's balance does not
    s.trading_deposit(conn, usd, D(75), datetime(2026, 3, 9, 10, tzinfo=UTC))
    result = run(REPORT, KEY, ok=False)
    assert check_results(result)["balances_roll_forward"] is False


def test_ledger_movements_missing_from_the_report_stop_it(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    _seed_day(conn)
    # money moved on a trading account the core has no statement for
    stray = s.account(conn, s.client(conn))
    s.trading_deposit(conn, stray, D(10), datetime(2026, 3, 9, 10, tzinfo=UTC))
    result = run(REPORT, KEY, ok=False)
    assert check_results(result) == {"balances_roll_forward": True, "report_matches_ledger": False}


def test_a_day_the_core_has_not_cut_yet_is_refused(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    acc = s.account(conn, s.client(conn))
    s.trading_deposit(conn, acc, D(10), datetime(2026, 3, 9, 10, tzinfo=UTC))
    result = run([daily_account_report], KEY, ok=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_failure)
    assert "no account statements at the cut" in str(failure.event_specific_data)


def test_the_monthly_summary_adds_up_the_days(
    conn: psycopg.Connection[Any], run: Runner, tmp_path: Path
) -> None:
    usd, eur = _seed_day(conn)
    run(REPORT, KEY)
    # Tuesday 2026-03-10: Monday's late 300 lands in it, and the USD account withdraws 50
    s.trading_deposit(conn, usd, D(-50), datetime(2026, 3, 10, 15, tzinfo=UTC))
    tuesday_cut = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
    s.statement(conn, usd, tuesday_cut, balance=D("1984.55"), floating=D(10))
    s.statement(conn, eur, tuesday_cut, balance=D(1750))
    run(REPORT, "2026-03-09")
    run([monthly_summary], "2026-03-01")
    row = conn.execute(
        """SELECT deposit, withdrawal, in_out, profit, commission, swap, balance, equity
           FROM reports.monthly_summary WHERE trading_account_id = %s""",
        (usd.id,),
    ).fetchone()
    # March so far: 500 + 300 in, 50 out; its last day closes at 1734.55 + 300 - 50 = 1984.55
    # with 10 floating
    assert row == (D(800), D(50), D(750), D(240), D("-2.45"), D(-3), D("1984.55"),
                   D("1994.55"))  # fmt: skip
    summary = tmp_path / "data" / "exports" / "reports" / "2026-03" / "summary.csv"
    with summary.open() as handle:
        assert {r["Login"] for r in csv.DictReader(handle)} == {str(usd.login), str(eur.login)}
