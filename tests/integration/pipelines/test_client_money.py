"""The client-money reconciliation on a hand-made day: two clients, wallets and trading
accounts in USD and EUR, bank statements; figures worked out by hand below.

Trade date 2026-03-03 (partition 2026-03-02), cut 22:00 UTC.

USD  Anna:  wallet 10000 - 6000 to trading = 4000; account equity 6000 + 250.50 = 6250.50
            (a demo account's 100000 and a deposit after the cut do not count)   -> 10250.50
     Boris: wallet 500; account equity 1000 - 1500 = -500 counts 0; another 300 -> 800
     entitlement 11050.50; banks 8000 + 3000 = 11000; difference -50.50: shortfall
EUR  Anna:  wallet 3000; account balance 2000 + credit 500 - 100 floating, credit
            left out: 1900                                                       -> 4900
     Boris: wallet 1000 - 400 reserved - 250 to trading = 350, reserve 400; an account
            the core did not value, at its ledger balance 250                    -> 1000
     entitlement 5900; bank 5900: balanced
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from pipelines.assets.client_money import (
    client_money_archive_matches,
    client_money_differences_explained,
    client_money_lines_sum_to_totals,
    client_money_reconciliation,
)
from pipelines.client_money import SignOffRefused, approve, explain, reconcile_day
from pipelines.client_money.sensor import settlement_files_sensor
from tests.integration.pipelines.conftest import Runner, check_results
from tests.integration.pipelines.support import (
    account,
    client,
    statement,
    trading_deposit,
    wallet,
)
from tests.integration.pipelines.support_money import (
    reserve_withdrawal,
    staff,
    statement_file,
    wallet_deposit,
)

pytestmark = pytest.mark.integration

D = Decimal
KEY = "2026-03-02"
TRADE_DATE = date(2026, 3, 3)
CUT = datetime(2026, 3, 3, 22, tzinfo=UTC)
BEFORE = datetime(2026, 3, 2, 9, tzinfo=UTC)
ASSET_AND_CHECKS = [
    client_money_reconciliation,
    client_money_differences_explained,
    client_money_lines_sum_to_totals,
    client_money_archive_matches,
]


def seed_day(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    anna = client(conn, first_name="Anna", last_name="Novak")
    boris = client(conn, first_name="Boris", last_name="Petrov")

    anna_usd = account(conn, anna, group="professional-netting")
    wallet_deposit(conn, wallet(conn, anna, "USD"), "USD", D(10_000), BEFORE)
    trading_deposit(conn, anna_usd, D(6_000), BEFORE)
    wallet_deposit(conn, wallet(conn, anna, "EUR"), "EUR", D(3_000), BEFORE)
    wallet_deposit(conn, wallet_of(conn, anna, "USD"), "USD", D(1_000), CUT)  # after the cut
    statement(conn, anna_usd, CUT, balance=D(6_000), floating=D("250.50"))
    anna_eur = account(conn, anna, group="retail-eu-hedging")
    statement(conn, anna_eur, CUT, balance=D(2_000), credit=D(500), floating=D(-100))
    statement(conn, account(conn, anna, group="demo-usd"), CUT, balance=D(100_000))

    wallet_deposit(conn, wallet(conn, boris, "USD"), "USD", D(500), BEFORE)
    statement(conn, account(conn, boris), CUT, balance=D(1_000), floating=D(-1_500))
    statement(conn, account(conn, boris), CUT, balance=D(300))
    boris_eur_wallet = wallet(conn, boris, "EUR")
    wallet_deposit(conn, boris_eur_wallet, "EUR", D(1_000), BEFORE)
    reserve_withdrawal(conn, boris, boris_eur_wallet, "EUR", D(400), BEFORE)
    trading_deposit(conn, account(conn, boris, group="retail-eu-hedging"), D(250), BEFORE)
    return anna, boris


def wallet_of(conn: psycopg.Connection[Any], client_id: int, currency: str) -> int:
    row = conn.execute(
        "SELECT ledger_account_id FROM wallets WHERE client_id = %s AND currency = %s",
        (client_id, currency),
    ).fetchone()
    assert row is not None
    return int(row[0])


def bank_statement(folders: Any, name: str = "bank-2026-03-03.csv", usd2: str = "3000.00") -> None:
    statement_file(
        folders.settlements,
        name,
        [
            ("GB29NWBK60161331926819", "USD", TRADE_DATE, "8000.00"),
            ("GB94BARC10201530093459", "USD", TRADE_DATE, usd2),
            ("CY17002001280000001200527600", "EUR", TRADE_DATE, "5900.00"),
            ("GB29NWBK60161331926819", "USD", date(2026, 3, 2), "99999.00"),  # another day
        ],
    )


def reconciliations(conn: psycopg.Connection[Any]) -> dict[tuple[str, int], tuple[Any, ...]]:
    rows = conn.execute(
        """SELECT currency, version, entitlement, held, difference, status, id
           FROM client_money_reconciliations WHERE trade_date = %s""",
        (TRADE_DATE,),
    ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def lines(conn: psycopg.Connection[Any], rec_id: int) -> dict[int, tuple[Decimal, ...]]:
    rows = conn.execute(
        """SELECT client_id, wallets, trading_equity, entitlement FROM client_money_lines
           WHERE reconciliation_id = %s""",
        (rec_id,),
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def counts(conn: psycopg.Connection[Any]) -> tuple[int, ...]:
    return tuple(
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        for table in ("client_money_reconciliations", "client_money_lines",
                      "client_money_signoffs", "client_money_bank_balances")
    )  # fmt: skip


def test_the_day_reconciles_to_the_hand_figures(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    anna, boris = seed_day(conn)
    bank_statement(resources["folders"])

    result = run(ASSET_AND_CHECKS, KEY)

    recs = reconciliations(conn)
    assert set(recs) == {("USD", 1), ("EUR", 1)}
    usd, eur = recs["USD", 1], recs["EUR", 1]
    assert usd[:4] == (D("11050.50"), D(11_000), D("-50.50"), "shortfall")
    assert eur[:4] == (D(5_900), D(5_900), D(0), "balanced")
    assert lines(conn, usd[4]) == {
        anna: (D(4_000), D("6250.50"), D("10250.50")),
        boris: (D(500), D(300), D(800)),
    }
    assert lines(conn, eur[4]) == {
        anna: (D(3_000), D(1_900), D(4_900)),
        boris: (D(750), D(250), D(1_000)),
    }
    signers = conn.execute(
        "SELECT role, staff_user_id, actor FROM client_money_signoffs WHERE reconciliation_id = %s",
        (usd[4],),
    ).fetchall()
    assert signers == [("preparer", None, "pipeline")]
    metadata = result.asset_materializations_for_node("client_money_reconciliation")[0].metadata
    assert metadata["shortfalls"].value == ["demo USD: -50.50000000"]
    assert metadata["unvalued_accounts"].value == 1
    # The shortfall is flagged until explained; the figures and archives hold.
    assert check_results(result) == {
        "client_money_differences_explained": False,
        "client_money_lines_sum_to_totals": True,
        "client_money_archive_matches": True,
    }


def test_the_archive_holds_totals_and_lines_under_its_checksum(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    anna, boris = seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)

    path, digest = conn.execute(
        """SELECT archive_path, archive_sha256 FROM client_money_reconciliations
           WHERE currency = 'USD'"""
    ).fetchone() or ("", "")
    assert path == "archive/client_money/demo/2026-03-03/USD-v1.csv"
    data = (Path(resources["folders"].root) / path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest
    text = data.decode()
    for expected in (
        "entitlement,11050.50000000", "held,11000.00000000", "difference,-50.50000000",
        "status,shortfall", "GB94BARC10201530093459,3000.00000000,bank-2026-03-03.csv",
        f"{anna},4000.00000000,6250.50000000,10250.50000000",
        f"{boris},500.00000000,300.00000000,800.00000000",
    ):  # fmt: skip
        assert expected in text.splitlines()


def test_a_rerun_with_the_same_facts_writes_nothing(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    before = counts(conn)
    bank_statement(resources["folders"], name="same-again.csv")  # same bytes: loaded once
    run([client_money_reconciliation], KEY)
    assert counts(conn) == before


def test_a_corrected_bank_statement_makes_version_two(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    bank_statement(resources["folders"], name="bank-2026-03-03-corrected.csv", usd2="3050.50")

    result = run(ASSET_AND_CHECKS, KEY)

    recs = reconciliations(conn)
    assert set(recs) == {("USD", 1), ("USD", 2), ("EUR", 1)}
    assert recs["USD", 2][:4] == (D("11050.50"), D("11050.50"), D(0), "balanced")
    assert recs["USD", 1][3] == "shortfall"  # kept as it was
    assert all(check_results(result).values())  # the latest version has no difference


def test_staff_sign_offs_follow_the_four_eyes_rule(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    recs = reconciliations(conn)
    usd, eur = recs["USD", 1][4], recs["EUR", 1][4]
    maria, john = staff(conn, "Maria"), staff(conn, "John")

    with pytest.raises(SignOffRefused, match="explain it first"):
        approve(conn, usd, john)
    with pytest.raises(SignOffRefused, match="needs text"):
        explain(conn, usd, maria, "  ")
    explain(conn, usd, maria, "Card settlement of 50.50 USD in transit, lands 2026-03-04.")
    with pytest.raises(SignOffRefused, match="not be who explained"):
        approve(conn, usd, maria)
    approve(conn, usd, john)
    with pytest.raises(SignOffRefused, match="approved already"):
        approve(conn, usd, staff(conn, "Third"))
    approve(conn, eur, maria)  # balanced: nothing to explain

    rows = conn.execute(
        """SELECT role, staff_user_id, explanation <> '' FROM client_money_signoffs
           WHERE reconciliation_id = %s ORDER BY id""",
        (usd,),
    ).fetchall()
    assert rows == [("preparer", None, False), ("explanation", maria, True),
                    ("approver", john, False)]  # fmt: skip
    # Explained now: the check passes on the same facts (a re-run that writes nothing).
    assert check_results(run(ASSET_AND_CHECKS, KEY))["client_money_differences_explained"]


def test_a_superseded_version_cannot_be_signed(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    bank_statement(resources["folders"], name="corrected.csv", usd2="3050.50")
    run([client_money_reconciliation], KEY)
    with pytest.raises(SignOffRefused, match="superseded"):
        explain(conn, reconciliations(conn)["USD", 1][4], staff(conn, "Maria"), "late")


@pytest.mark.parametrize(
    "statement_sql",
    [
        "UPDATE client_money_reconciliations SET held = held + 1",
        "DELETE FROM client_money_reconciliations",
        "UPDATE client_money_lines SET entitlement = 0",
        "DELETE FROM client_money_lines",
        "UPDATE client_money_signoffs SET actor = 'someone'",
    ],
)
def test_reconciliations_cannot_be_changed(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any], statement_sql: str
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
        conn.execute(statement_sql)


def test_a_bad_statement_file_loads_nothing_and_is_reported(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    folder = resources["folders"].settlements
    (folder / "bad.csv").write_text(
        "brand,bank_account,currency,as_of,closing_balance\n"
        "demo,GB29NWBK60161331926819,USD,2026-03-03,8000.00\n"
        "demo,GB94BARC10201530093459,USD,2026-03-03,3 000.00\n"
        "nobrand,X,USD,2026-03-03,1\n"
    )
    statement_file(folder, "unknown-brand.csv", [("X", "USD", TRADE_DATE, "1")], brand="other")

    result = run([client_money_reconciliation], KEY)

    assert conn.execute("SELECT count(*) FROM settlement_files").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM client_money_bank_balances").fetchone() == (0,)
    metadata = result.asset_materializations_for_node("client_money_reconciliation")[0].metadata
    rejected: dict[str, str] = metadata["files_rejected"].value  # type: ignore[assignment]
    assert set(rejected) == {"bad.csv", "unknown-brand.csv"}
    assert "line 3: closing_balance '3 000.00'" in rejected["bad.csv"]
    assert "unknown brand(s): other" in rejected["unknown-brand.csv"]
    # Nothing held: the whole entitlement shows as a shortfall, never as balanced.
    assert reconciliations(conn)["USD", 1][3] == "shortfall"


def tamper(conn: psycopg.Connection[Any], table: str, update: str) -> None:
    """Change stored rows behind the immutability trigger, as an intruder with DDL rights
    could."""
    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable")
    conn.execute(update)
    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_immutable")


def test_the_totals_check_fails_on_a_line_that_does_not_add_up(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    usd = reconciliations(conn)["USD", 1][4]
    tamper(
        conn,
        "client_money_lines",
        f"""UPDATE client_money_lines SET entitlement = 1
                                           WHERE reconciliation_id = {usd}""",
    )

    result = run(ASSET_AND_CHECKS, KEY, ok=False)  # same facts: the re-run writes nothing

    assert not result.success  # the check is blocking
    assert check_results(result)["client_money_lines_sum_to_totals"] is False
    assert len(reconciliations(conn)) == 2


def test_the_totals_check_fails_on_a_difference_that_is_not_held_less_entitlement(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    tamper(
        conn,
        "client_money_reconciliations",
        "UPDATE client_money_reconciliations SET difference = 0, status = 'balanced'",
    )
    result = run(ASSET_AND_CHECKS, KEY, ok=False)
    assert check_results(result)["client_money_lines_sum_to_totals"] is False


def test_the_archive_check_fails_on_a_changed_or_missing_file(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    run([client_money_reconciliation], KEY)
    root = Path(resources["folders"].root)
    usd = root / "archive/client_money/demo/2026-03-03/USD-v1.csv"
    usd.write_text(usd.read_text().replace("status,shortfall", "status,balanced"))
    (root / "archive/client_money/demo/2026-03-03/EUR-v1.csv").unlink()

    result = run(ASSET_AND_CHECKS, KEY, ok=False)

    assert check_results(result)["client_money_archive_matches"] is False
    [evaluation] = [
        e for e in result.get_asset_check_evaluations()
        if e.check_name == "client_money_archive_matches"
    ]  # fmt: skip
    assert evaluation.metadata["count"].value == 2


def test_the_differences_check_passes_a_balanced_day(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"], usd2="3050.50")
    assert all(check_results(run(ASSET_AND_CHECKS, KEY)).values())


def test_the_sensors_request_reconciles_the_files_trade_date(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"], usd2="3050.50")
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        result = settlement_files_sensor(context)
    assert isinstance(result, dg.SensorResult)
    requested = sorted(r.partition_key or "" for r in result.run_requests or [])
    assert requested == ["2026-02-27", "2026-03-02"]  # trade dates 2026-03-02 and 03-03

    run(ASSET_AND_CHECKS, KEY)

    assert {k: v[3] for k, v in reconciliations(conn).items()} == {
        ("USD", 1): "balanced",
        ("EUR", 1): "balanced",
    }


def test_reconcile_day_does_the_assets_work_for_a_trade_date(
    conn: psycopg.Connection[Any], resources: dict[str, Any], seeded_db_url: str
) -> None:
    seed_day(conn)
    bank_statement(resources["folders"])
    done = reconcile_day(seeded_db_url, resources["folders"].root, TRADE_DATE)
    assert [f.status for f in done.files] == ["loaded"]
    assert sorted((w.currency, w.version, w.status) for w in done.written) == [
        ("EUR", 1, "balanced"),
        ("USD", 1, "shortfall"),
    ]
    again = reconcile_day(seeded_db_url, resources["folders"].root, TRADE_DATE)
    assert (again.written, again.unchanged) == ([], 2)
