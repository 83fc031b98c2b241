"""The analyst snapshot against a seeded warehouse: the same totals as the warehouse, no
personal data in any file, a swap a reader never sees half of, and a check that catches a
damaged snapshot."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.assets.snapshot import analyst_snapshot, snapshot_rows_match_warehouse
from pipelines.snapshots import build_snapshot
from pipelines.snapshots.catalog import referenced_files
from tests.integration.pipelines import support as s
from tests.integration.pipelines.conftest import Runner, check_results

pytestmark = pytest.mark.integration

SECRETS = ("Zelda", "Quixote", "zq-secret@example.test", "AB123456", "Payer Mysterio", "hash$pw")
BIRTH = date(1977, 7, 7)
MONDAY_CUT = datetime(2026, 3, 9, 21, tzinfo=UTC)  # 17:00 New York (EDT): trade date 03-09


def seed(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():  # a ledger transfer balances at commit
        _seed(conn)


def _seed(conn: psycopg.Connection[Any]) -> None:
    zelda = s.client(
        conn, first_name="Zelda", last_name="Quixote", email="zq-secret@example.test",
        birth_date=BIRTH, created_at=datetime(2026, 3, 2, tzinfo=UTC),
    )  # fmt: skip
    conn.execute(
        "UPDATE clients SET national_id = 'AB123456', password_hash = 'hash$pw' WHERE id = %s",
        (zelda,),
    )
    other = s.client(conn)
    for owner, profit in ((zelda, Decimal("12.34")), (other, Decimal("-5.5"))):
        acc = s.account(conn, owner, opened_at=datetime(2026, 3, 2, tzinfo=UTC))
        s.trading_deposit(conn, acc, Decimal(1000), datetime(2026, 3, 4, 12, tzinfo=UTC))
        s.payment(
            conn, owner, "deposit", Decimal(1000), "USD", datetime(2026, 3, 4, 11, tzinfo=UTC),
            payer_name="Payer Mysterio",
        )  # fmt: skip
        opened = datetime(2026, 3, 6, 22, 30, tzinfo=UTC)  # Friday after the cut: Monday's
        pos = s.position(
            conn, acc, "EURUSD", "BUY", Decimal("0.5"), Decimal("1.08"), opened,
            closed_at=datetime(2026, 3, 9, 20, tzinfo=UTC), close_price=Decimal("1.09"),
        )  # fmt: skip
        s.deal(conn, acc, pos, "EURUSD", "BUY", "IN", Decimal("0.5"), Decimal("1.08"), opened)
        s.deal(
            conn, acc, pos, "EURUSD", "SELL", "OUT", Decimal("0.5"), Decimal("1.09"),
            datetime(2026, 3, 9, 20, tzinfo=UTC), profit=profit, commission=Decimal("-1.5"),
        )  # fmt: skip
        s.statement(conn, acc, MONDAY_CUT, balance=Decimal(1000) + profit)
    s.cut_rates(conn, MONDAY_CUT, {"USD": Decimal(1), "EUR": Decimal("1.09")})


def warehouse_totals(conn: psycopg.Connection[Any]) -> tuple[int, Decimal, Decimal]:
    row = conn.execute("SELECT count(*), sum(profit), sum(volume) FROM deals").fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1]), Decimal(row[2])


def snapshot_totals(db: duckdb.DuckDBPyConnection) -> tuple[int, Decimal, Decimal]:
    row = db.execute("SELECT count(*), sum(profit), sum(volume) FROM deals").fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1]), Decimal(row[2])


def current_db(root: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(root / "snapshots" / "current" / "analytics.duckdb"), read_only=True)


def data_root(resources: dict[str, Any]) -> Path:
    return Path(resources["folders"].root)


TABLES = (
    "deals", "positions", "orders", "trading_accounts", "account_statements",
    "position_statements", "cut_rates", "instruments", "account_groups", "brands",
    "ledger_transfers", "ledger_entries", "ledger_accounts", "payments", "clients", "lps",
    "wallets", "candles_1m", "candles_1h", "candles_1d",
)  # fmt: skip


def test_snapshot_holds_the_warehouse_totals(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    seed(conn)
    result = run([analyst_snapshot, snapshot_rows_match_warehouse])
    assert check_results(result) == {"snapshot_rows_match_warehouse": True}

    with current_db(data_root(resources)) as db:
        assert snapshot_totals(db) == warehouse_totals(conn)
        assert warehouse_totals(conn) == (4, Decimal("6.84"), Decimal(2))
        for table in TABLES:
            warehouse = s.one(conn, f"SELECT count(*) FROM {table}")
            snapshot = db.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert snapshot is not None
            assert snapshot[0] == warehouse, table
        by_day = db.execute(
            "SELECT trade_date, count(*) FROM deals GROUP BY 1 ORDER BY 1"
        ).fetchall()
        # the Friday 22:30 UTC opening is Monday's; Monday 20:00 UTC is before Monday's cut
        assert by_day == [(date(2026, 3, 9), 4)]
        ledger = db.execute("SELECT sum(amount) FROM ledger_entries").fetchone()
        assert ledger is not None
        assert ledger[0] == 0
        statements = db.execute(
            "SELECT trade_date, sum(balance) FROM account_statements GROUP BY 1"
        ).fetchall()
        assert statements == [(date(2026, 3, 9), Decimal("2006.84"))]  # the cut closes 03-09
        entries = db.execute("SELECT DISTINCT trade_date FROM ledger_entries ORDER BY 1").fetchall()
        assert entries == [(date(2026, 3, 4),), (date(2026, 3, 9),)]

    build = data_root(resources) / "snapshots" / "current"
    assert (build / "deals" / "trade_date=2026-03-09" / "part-0.parquet").is_file()
    assert (build / "instruments" / "part-0.parquet").is_file()


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value if v is not None]


def test_no_personal_data_leaves(conn: psycopg.Connection[Any], resources: dict[str, Any]) -> None:
    seed(conn)
    result = build_snapshot(resources["warehouse"].url, data_root(resources))
    files = sorted(result.path.rglob("*.parquet"))
    assert files
    for path in files:
        table = pq.read_table(path)
        columns = set(table.column_names)
        forbidden = {"email", "first_name", "last_name", "birth_date", "national_id",
                     "password_hash", "payer_name", "nationality", "phone"}  # fmt: skip
        assert not columns & forbidden, path
        for column in table.columns:
            if pa.types.is_date32(column.type):
                assert BIRTH not in column.to_pylist(), path
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                for text in _strings(column.to_pylist()):
                    assert not any(secret in text for secret in SECRETS), (path, text)
    for path in result.path.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert not any(secret.encode() in raw for secret in SECRETS), path
    with duckdb.connect(str(result.database), read_only=True) as db:
        clients = db.sql("SELECT * FROM clients ORDER BY id").to_arrow_table()
    assert clients.column_names == [
        "id", "brand_id", "country", "category", "kyc_level", "status", "created_at",
        "email_sha256",
    ]  # fmt: skip
    hashes = clients.column("email_sha256").to_pylist()
    assert all(len(h) == 64 for h in hashes)
    assert len(set(hashes)) == len(hashes)
    # the same salt next time: a client hashes alike across builds
    again = build_snapshot(resources["warehouse"].url, data_root(resources))
    with duckdb.connect(str(again.database), read_only=True) as db:
        rows = db.execute("SELECT email_sha256 FROM clients ORDER BY id").fetchall()
    assert [h for (h,) in rows] == hashes


def test_a_new_warehouse_column_is_left_out(
    conn: psycopg.Connection[Any], resources: dict[str, Any]
) -> None:
    seed(conn)
    conn.execute("ALTER TABLE deals ADD COLUMN client_note text")
    conn.execute("UPDATE deals SET client_note = 'Zelda called'")
    result = build_snapshot(resources["warehouse"].url, data_root(resources))
    assert result.left_out["deals"] == ("client_note",)
    assert result.missing == {}
    with duckdb.connect(str(result.database), read_only=True) as db:
        names = [r[0] for r in db.execute("DESCRIBE deals").fetchall()]
    assert "client_note" not in names
    assert "profit" in names


def _add_deals(conn: psycopg.Connection[Any], count: int, profit: Decimal) -> None:
    with conn.transaction():
        acc = s.account(conn, s.client(conn))
        at = datetime(2026, 3, 10, 14, tzinfo=UTC)
        pos = s.position(conn, acc, "GBPUSD", "SELL", Decimal(1), Decimal("1.27"), at)
        for _ in range(count):
            s.deal(conn, acc, pos, "GBPUSD", "SELL", "IN", Decimal(1), Decimal("1.27"), at,
                   profit=profit)  # fmt: skip


def test_a_reader_sees_the_old_or_the_new_build_never_a_mix(
    conn: psycopg.Connection[Any], resources: dict[str, Any]
) -> None:
    seed(conn)
    url, root = resources["warehouse"].url, data_root(resources)
    first = build_snapshot(url, root)
    old = warehouse_totals(conn)
    reader = current_db(root)
    assert snapshot_totals(reader) == old

    _add_deals(conn, 3, Decimal("100"))
    new = warehouse_totals(conn)
    assert new != old
    seen: list[tuple[int, Decimal, Decimal]] = []
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            with current_db(root) as db:
                seen.append(snapshot_totals(db))

    watcher = threading.Thread(target=keep_reading)
    watcher.start()
    try:
        second = build_snapshot(url, root)
    finally:
        stop.set()
        watcher.join()
    assert seen
    assert set(seen) <= {old, new}

    assert snapshot_totals(reader) == old  # the open connection stays on its build
    reader.close()
    with current_db(root) as fresh:
        assert snapshot_totals(fresh) == new
    for result in (first, second):
        files = referenced_files(result.database)
        assert files
        assert all(Path(f).is_relative_to(result.path.resolve()) for f in files)
    assert first.path.is_dir()
    assert second.removed == ()


def _deal_files(root: Path) -> list[Path]:
    return sorted((root / "snapshots" / "current" / "deals").rglob("*.parquet"))


@pytest.mark.parametrize("damage", ["removed", "truncated"])
def test_the_check_fails_on_a_damaged_snapshot(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any], damage: str
) -> None:
    seed(conn)
    _add_deals(conn, 2, Decimal(1))  # a second day folder, so one can go
    run([analyst_snapshot, snapshot_rows_match_warehouse])
    victim = _deal_files(data_root(resources))[0]
    if damage == "removed":
        victim.unlink()
    else:
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    outcome = snapshot_rows_match_warehouse(folders=resources["folders"])
    assert isinstance(outcome, dg.AssetCheckResult)
    assert not outcome.passed
    problems = outcome.metadata["problems"].value
    assert isinstance(problems, list)
    assert any(str(p).startswith("deals:") for p in problems), problems


def test_rows_come_through_exactly(
    conn: psycopg.Connection[Any], resources: dict[str, Any]
) -> None:
    seed(conn)
    tricky = 'a, "quoted"\nsecond line'
    conn.execute("UPDATE instruments SET description = %s WHERE symbol = 'EURUSD'", (tricky,))
    conn.execute("UPDATE instruments SET description = '' WHERE symbol = 'GBPUSD'")
    conn.execute("UPDATE trading_accounts SET toxicity_score = NULL")
    result = build_snapshot(resources["warehouse"].url, data_root(resources))
    queries = (
        "SELECT id, symbol, description, contract_size, enabled FROM instruments ORDER BY id",
        "SELECT id, executed_at, volume, price, profit, commission, side FROM deals ORDER BY id",
        "SELECT id, balance, toxicity_score, opened_at FROM trading_accounts ORDER BY id",
        "SELECT trading_account_id, cut, margin_level, valued FROM account_statements ORDER BY 1",
    )
    with duckdb.connect(str(result.database), read_only=True) as db:
        for query in queries:
            assert db.execute(query).fetchall() == conn.execute(query).fetchall(), query
