"""The snapshot's column policy keeps no personal data and is well formed."""

from __future__ import annotations

from pipelines.snapshots.policy import TABLES

PERSONAL = {
    "email", "first_name", "last_name", "full_name", "phone", "birth_date", "national_id",
    "nationality", "address", "password_hash", "payer_name", "created_by",
    "idempotency_key", "client_order_id", "request_id", "raw_message",
}  # fmt: skip
HOLDER_NAME = {"clients", "reports.daily_accounts", "reports.monthly_summary"}


def test_no_table_keeps_personal_data() -> None:
    for table in TABLES:
        kept = set(table.keep) | {d.name for d in table.derived}
        assert not kept & PERSONAL, table.name
        if table.name in HOLDER_NAME:
            assert "name" not in kept, table.name
    (transfers,) = (t for t in TABLES if t.name == "ledger_transfers")
    assert "description" not in transfers.keep  # free text typed by staff


def test_clients_keep_only_what_segments_them() -> None:
    (clients,) = (t for t in TABLES if t.name == "clients")
    assert set(clients.keep) == {
        "id", "brand_id", "country", "category", "kyc_level", "status", "created_at",
    }  # fmt: skip
    (hashed,) = clients.derived
    assert "sha256(%(salt)s" in hashed.sql  # salted, never the bare address


def test_names_are_unique_and_days_are_kept_columns() -> None:
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names))
    for table in TABLES:
        assert len(table.keep) == len(set(table.keep)), table.name
        if table.day:
            columns = set(table.keep) | {d.name for d in table.derived}
            assert table.day.column in columns, table.name


def test_the_tables_analysts_were_promised() -> None:
    names = {t.name for t in TABLES}
    assert {
        "deals", "positions", "orders", "trading_accounts", "account_statements",
        "position_statements", "cut_rates", "instruments", "account_groups", "brands",
        "ledger_transfers", "ledger_entries", "payments", "clients", "candles_1m",
        "candles_1h", "candles_1d", "reports.daily_accounts", "reports.daily_pnl",
        "reports.exposure", "reports.client_metrics",
    } <= names  # fmt: skip
    assert "ticks" not in names
