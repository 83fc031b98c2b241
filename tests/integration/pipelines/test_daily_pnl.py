"""Daily P&L and exposure on Wednesday 2026-03-11 (the triple-swap day), for a USD netting
account holding EURUSD on the B-book over several cuts (partially closed on the day) and
USDJPY on the A-book (a JPY-profit instrument on a USD account, reversed on the day)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import psycopg

from pipelines.assets.pnl import (
    daily_pnl,
    every_deal_in_the_pnl,
    exposure_matches_positions,
    net_exposure,
)
from tests.integration.pipelines import support as s
from tests.integration.pipelines.conftest import Runner, check_results

WEDNESDAY = "2026-03-10"  # the key of the day ending Wednesday 2026-03-11 17:00 New York
MONDAY_CUT = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)
TUESDAY_CUT = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
WEDNESDAY_CUT = datetime(2026, 3, 11, 21, 0, tzinfo=UTC)
JPY = D("0.006662225183")  # 1 / 150.10, the cut's mid rate
PNL = [daily_pnl, every_deal_in_the_pnl]


def _seed(conn: psycopg.Connection[Any]) -> s.Account:
    acc = s.account(conn, s.client(conn))
    on = datetime(2026, 3, 11, 10, tzinfo=UTC)
    # EURUSD, B-book: 1 lot bought on Monday, held over Monday's and Tuesday's cuts
    eur = s.position(conn, acc, "EURUSD", "BUY", D("0.6"), D("1.08000"),
                     datetime(2026, 3, 9, 8, tzinfo=UTC))  # fmt: skip
    s.deal(conn, acc, eur, "EURUSD", "BUY", "IN", D(1), D("1.08000"),
           datetime(2026, 3, 9, 8, tzinfo=UTC), commission=D("-3.50"))  # fmt: skip
    s.position_statement(conn, acc, eur, MONDAY_CUT, symbol="EURUSD", side="BUY",
                         volume=D(1), open_price=D("1.08000"), close_price=D("1.08300"),
                         profit=D(300), swap=D(-2))  # fmt: skip
    s.position_statement(conn, acc, eur, TUESDAY_CUT, symbol="EURUSD", side="BUY",
                         volume=D(1), open_price=D("1.08000"), close_price=D("1.08050"),
                         profit=D(50), swap=D(-4))  # fmt: skip
    # Wednesday: 0.4 closed at 1.08100 (+40, with its share of the swap, -1.60); at the cut
    # the remaining 0.6 has accrued 0.6 of the -4 (-2.40) plus a triple swap (3 x -1.20)
    s.deal(conn, acc, eur, "EURUSD", "SELL", "OUT", D("0.4"), D("1.08100"), on,
           profit=D(40), swap=D("-1.60"), commission=D("-1.40"))  # fmt: skip
    s.position_statement(conn, acc, eur, WEDNESDAY_CUT, symbol="EURUSD", side="BUY",
                         volume=D("0.6"), open_price=D("1.08000"), close_price=D("1.09000"),
                         profit=D(600), swap=D("-6.00"))  # fmt: skip
    # USDJPY, A-book: sold 1 lot on Tuesday; Wednesday a 1.5 lot buy reverses it to 0.5 long
    jpy = s.position(conn, acc, "USDJPY", "BUY", D("0.5"), D("150.020"),
                     datetime(2026, 3, 10, 9, tzinfo=UTC))  # fmt: skip
    s.deal(conn, acc, jpy, "USDJPY", "SELL", "IN", D(1), D("149.800"),
           datetime(2026, 3, 10, 9, tzinfo=UTC), routed="A", lp_price=D("149.810"))  # fmt: skip
    s.position_statement(conn, acc, jpy, TUESDAY_CUT, symbol="USDJPY", side="SELL",
                         volume=D(1), open_price=D("149.800"), close_price=D("149.900"),
                         profit=D("-66.71"), book="a")  # fmt: skip
    s.deal(conn, acc, jpy, "USDJPY", "BUY", "INOUT", D("1.5"), D("150.020"), on,
           profit=D("-146.65"), commission=D("-5.25"), routed="A",
           lp_price=D("150.010"))  # fmt: skip
    s.position_statement(conn, acc, jpy, WEDNESDAY_CUT, symbol="USDJPY", side="BUY",
                         volume=D("0.5"), open_price=D("150.020"), close_price=D("150.080"),
                         profit=D("19.99"), book="a")  # fmt: skip
    s.cut_rates(conn, WEDNESDAY_CUT, {"JPY": JPY, "EUR": D("1.0905")})
    return acc


def _pnl(conn: psycopg.Connection[Any], symbol: str) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM reports.daily_pnl WHERE symbol = %s", (symbol,))
    names = [d.name for d in cur.description or ()]
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(names, rows[0], strict=True))


def test_the_pnl_of_the_triple_swap_day(conn: psycopg.Connection[Any], run: Runner) -> None:
    _seed(conn)
    result = run(PNL, WEDNESDAY)
    assert check_results(result) == {"every_deal_in_the_pnl": True}
    eur = _pnl(conn, "EURUSD")
    # floating with swaps: Tuesday 50 - 4 = 46; Wednesday 600 - 6 = 594
    assert (eur["book"], eur["realised"], eur["swap"], eur["commission"]) == (
        "b",
        D(40),
        D("-1.60"),
        D("-1.40"),
    )
    assert (eur["floating"], eur["previous_floating"]) == (D(594), D(46))
    # 40 - 1.60 - 1.40 + 594 - 46 = 585.00
    assert eur["client_pnl"] == D("585.00")
    # B-book: the opposite of 40 - 1.60 + 594 - 46 = 586.40, plus the commission 1.40
    assert eur["broker_revenue_usd"] == D("-585.00")
    assert eur["notional_usd"] == D("0.4") * 100_000 * D("1.08100")
    assert (eur["markup_usd"], eur["lp_cost_usd"]) == (0, 0)

    jpy = _pnl(conn, "USDJPY")
    assert (jpy["book"], jpy["realised"], jpy["commission"]) == ("a", D("-146.65"), D("-5.25"))
    # -146.65 - 5.25 + 19.99 - (-66.71) = -65.20
    assert jpy["client_pnl"] == D("-65.20")
    # markup: bought at 150.020 against the LP's 150.010, 1.5 lots of 100,000 = 1500 JPY
    markup = D("0.010") * D("1.5") * 100_000 * JPY
    # the LP's 5 USD per million on 1.5 x 100,000 x 150.010 JPY
    lp_cost = D("1.5") * 100_000 * D("150.010") * JPY * 5 / 1_000_000
    assert jpy["markup_usd"] == round(markup, 8)
    assert jpy["lp_cost_usd"] == round(lp_cost, 8)
    assert jpy["notional_usd"] == round(D("1.5") * 100_000 * D("150.020") * JPY, 8)
    # A-book: the commission charged plus the markup, less the LP's commission
    assert jpy["broker_revenue_usd"] == round(D("5.25") + markup - lp_cost, 8)
    # the Monday deal is not Wednesday's
    assert s.one(conn, "SELECT count(*) FROM reports.daily_pnl") == 2


def test_net_exposure_at_the_cut(conn: psycopg.Connection[Any], run: Runner) -> None:
    _seed(conn)
    result = run([net_exposure, exposure_matches_positions], WEDNESDAY)
    assert check_results(result) == {"exposure_matches_positions": True}
    rows = conn.execute(
        """SELECT symbol, book, long_lots, short_lots, net_lots, net_usd FROM reports.exposure
           ORDER BY symbol"""
    ).fetchall()
    assert rows == [
        ("EURUSD", "b", D("0.6"), D(0), D("0.6"), D("0.6") * 100_000 * D("1.09000")),
        ("USDJPY", "a", D("0.5"), D(0), D("0.5"),
         round(D("0.5") * 100_000 * D("150.080") * JPY, 8)),
    ]  # fmt: skip


def test_a_deal_without_its_account_stops_the_pnl(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    acc = _seed(conn)
    # a restore that lost an account's row: its deals remain (foreign keys off for the load)
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            """INSERT INTO deals (executed_at, trading_account_id, instrument_id, side, entry,
                                  volume, price, profit, routed)
               SELECT %s, 999999, instrument_id, side, entry, volume, price, 12, routed
               FROM deals WHERE trading_account_id = %s LIMIT 1""",
            (datetime(2026, 3, 11, 12, tzinfo=UTC), acc.id),
        )
    result = run(PNL, WEDNESDAY, ok=False)
    assert check_results(result) == {"every_deal_in_the_pnl": False}


def test_a_position_lost_from_the_exposure_is_caught(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    acc = _seed(conn)
    # a restore that lost an account's row while its position statements remain
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            """UPDATE position_statements SET trading_account_id = 999999
               WHERE trading_account_id = %s AND cut = %s AND book = 'b'""",
            (acc.id, WEDNESDAY_CUT),
        )
    result = run([net_exposure, exposure_matches_positions], WEDNESDAY, ok=False)
    assert check_results(result) == {"exposure_matches_positions": False}
