"""Migrations: empty -> head -> empty -> head, idempotent, and the plain path on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.integration.warehouse.support import Snapshot
from warehouse import migrate


def test_head_is_the_last_revision_and_current_follows_upgrades(empty_db_url: str) -> None:
    assert migrate.current(empty_db_url) is None
    migrate.upgrade(empty_db_url, "0003_parties")
    assert migrate.current(empty_db_url) == "0003_parties"
    migrate.upgrade(empty_db_url)
    # Revision ids are their file names, numbered in order: head is the highest-numbered file.
    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    last = max(path.stem for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert migrate.current(empty_db_url) == migrate.head() == last


def test_base_head_base_head_round_trip(empty_db_url: str, snapshot: Snapshot) -> None:
    empty = snapshot(empty_db_url)
    migrate.upgrade(empty_db_url)
    first_head = snapshot(empty_db_url)

    migrate.downgrade(empty_db_url)
    assert migrate.current(empty_db_url) is None
    # Only Alembic's own (now empty) version table may remain.
    leftovers = [row for row in snapshot(empty_db_url) if "alembic_version" not in row[1]]
    assert leftovers == [row for row in empty if "alembic_version" not in row[1]]

    migrate.upgrade(empty_db_url)
    assert snapshot(empty_db_url) == first_head


def test_upgrading_twice_changes_nothing(db_url: str, snapshot: Snapshot) -> None:
    before = snapshot(db_url)
    migrate.upgrade(db_url)
    assert snapshot(db_url) == before


def test_each_revision_downgrades_alone(empty_db_url: str, snapshot: Snapshot) -> None:
    migrate.upgrade(empty_db_url, "0004_trading")
    at_trading = snapshot(empty_db_url)
    migrate.upgrade(empty_db_url)
    migrate.downgrade(empty_db_url, "0004_trading")
    assert snapshot(empty_db_url) == at_trading


def test_plain_postgresql_gets_partitioned_ticks_and_rollup_candles(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        meta: dict[str, str] = dict(
            conn.execute("SELECT key, value FROM warehouse_meta").fetchall()
        )
        assert meta["storage_path"] == "plain"
        assert meta["candles"] == "rollup"
        kinds: dict[str, str] = dict(
            conn.execute(
                """SELECT relname, relkind FROM pg_class
                   WHERE relname IN ('ticks', 'ticks_default', 'candles_1m', 'candles_1h',
                                     'candles_1d', 'deals', 'audit_log')"""
            ).fetchall()
        )
        assert kinds == {
            "ticks": "p",
            "ticks_default": "r",
            "candles_1m": "r",
            "candles_1h": "r",
            "candles_1d": "r",
            "deals": "r",
            "audit_log": "r",
        }
        # Partitions exist around today, so live ticks do not land in the default one.
        in_default = conn.execute(
            """INSERT INTO ticks (time, symbol, source, bid, ask)
               VALUES (now(), 'EURUSD', 'lp-alpha', 1.1, 1.1001)
               RETURNING tableoid::regclass::text"""
        ).fetchone()
        assert in_default is not None
        assert in_default[0].startswith("ticks_p")


def test_settlement_rows_imported_before_0031_settle_in_their_own_currency(
    empty_db_url: str,
) -> None:
    migrate.upgrade(empty_db_url, "0030_reconciliation")
    with psycopg.connect(empty_db_url) as conn:
        conn.execute(
            """INSERT INTO recon_files (id, kind, source, filename, sha256, row_count)
               VALUES (1, 'settlement', 'card-sim', 'day.csv', %s, 1)""",
            ("a" * 64,),
        )
        conn.execute(
            """INSERT INTO settlement_rows (file_id, line, provider, external_id, category,
                                            source_id, gross, fee, net, currency, created_at)
               VALUES (1, 2, 'card-sim', 'txn_1', 'charge', 'pi_1', 100, 3.20, 96.80, 'EUR',
                       now())"""
        )
    migrate.upgrade(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute(
            "SELECT settled_currency, rate, asset, asset_amount FROM settlement_rows"
        ).fetchone()
        assert row is not None
        assert (row[0], str(row[1]), row[2], row[3]) == ("EUR", "1.000000000000", None, None)
        with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
            conn.execute("UPDATE settlement_rows SET rate = 2")  # still, after the backfill
