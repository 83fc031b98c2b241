"""The database itself refuses bad rows: negative volumes, unknown enum values, repeated
idempotency keys, unbalanced or edited ledger transfers, broken IB trees and audit chains."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests.integration.warehouse.support import Account

Conn = psycopg.Connection[Any]


@pytest.fixture
def conn(seeded_db_url: str, account: Account) -> Iterator[Conn]:
    with psycopg.connect(seeded_db_url, autocommit=True) as connection:
        yield connection


def _place(conn: Conn, account: Account, **overrides: Any) -> None:
    order = {
        "trading_account_id": account.trading_account_id,
        "client_order_id": "c-1",
        "instrument_id": account.instrument_id,
        "type": "MARKET",
        "side": "BUY",
        "status": "NEW",
        "volume": "0.10",
    } | overrides
    columns = ", ".join(order)
    values = ", ".join(f"%({c})s" for c in order)
    conn.execute(f"INSERT INTO orders ({columns}) VALUES ({values})", order)


def _deal(conn: Conn, account: Account, **overrides: Any) -> None:
    deal = {
        "executed_at": "2025-03-05T10:00:00Z",
        "trading_account_id": account.trading_account_id,
        "instrument_id": account.instrument_id,
        "side": "BUY",
        "entry": "IN",
        "volume": "0.10",
        "price": "1.08512",
        "routed": "B",
    } | overrides
    columns = ", ".join(deal)
    values = ", ".join(f"%({c})s" for c in deal)
    conn.execute(f"INSERT INTO deals ({columns}) VALUES ({values})", deal)


def test_a_valid_order_and_deal_are_accepted(conn: Conn, account: Account) -> None:
    _place(conn, account)
    _deal(conn, account)
    assert conn.execute("SELECT count(*) FROM deals").fetchone() == (1,)


@pytest.mark.parametrize("volume", ["-0.10", "0"])
def test_order_volume_must_be_positive(conn: Conn, account: Account, volume: str) -> None:
    with pytest.raises(errors.CheckViolation):
        _place(conn, account, volume=volume)


def test_deal_volume_must_be_positive(conn: Conn, account: Account) -> None:
    with pytest.raises(errors.CheckViolation):
        _deal(conn, account, volume="-1")


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "ICEBERG"), ("side", "buy"), ("status", "DONE"), ("time_in_force", "GTD")],
)
def test_order_enums_refuse_unknown_values(
    conn: Conn, account: Account, field: str, value: str
) -> None:
    with pytest.raises(errors.CheckViolation):
        _place(conn, account, **{field: value})


def test_deal_entry_refuses_unknown_values(conn: Conn, account: Account) -> None:
    with pytest.raises(errors.CheckViolation):
        _deal(conn, account, entry="OUTIN")


def test_a_book_deal_needs_its_lp(conn: Conn, account: Account) -> None:
    with pytest.raises(errors.CheckViolation):
        _deal(conn, account, routed="A")


def test_pending_order_needs_a_price(conn: Conn, account: Account) -> None:
    with pytest.raises(errors.CheckViolation):
        _place(conn, account, type="LIMIT", status="PENDING")


def test_client_order_id_is_unique_per_account(conn: Conn, account: Account) -> None:
    _place(conn, account, client_order_id="retry-me")
    with pytest.raises(errors.UniqueViolation):
        _place(conn, account, client_order_id="retry-me")


def test_trading_account_currency_must_match_its_group(conn: Conn, account: Account) -> None:
    with pytest.raises(errors.ForeignKeyViolation):
        conn.execute(
            """INSERT INTO trading_accounts (login, client_id, account_group_id, kind, currency)
               SELECT 100002, %s, id, 'live', 'USD' FROM account_groups
               WHERE code = 'retail-eu-hedging'""",
            (account.client_id,),
        )


def test_webhook_event_is_stored_once_per_provider(conn: Conn) -> None:
    insert = """INSERT INTO webhook_inbox (provider, event_id, event_type, raw_body)
                VALUES (%s, 'evt_1', 'payment.succeeded', '{}')"""
    conn.execute(insert, ("stub-psp",))
    conn.execute(insert, ("kyc-vendor",))
    with pytest.raises(errors.UniqueViolation):
        conn.execute(insert, ("stub-psp",))


def _transfer(conn: Conn, account: Account, key: str, wallet: str, bank: str) -> None:
    """Deposit: debit the client-money bank, credit the client's wallet, in one transaction."""
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO ledger_transfers (idempotency_key, currency, kind)
               VALUES (%s, 'EUR', 'deposit') RETURNING id""",
            (key,),
        ).fetchone()
        assert row is not None
        conn.execute(
            """INSERT INTO ledger_entries (transfer_id, ledger_account_id, currency, amount)
               VALUES (%s, %s, 'EUR', %s), (%s, %s, 'EUR', %s)""",
            (row[0], account.bank_ledger_account_id, bank, row[0],
             account.wallet_ledger_account_id, wallet),
        )  # fmt: skip


def test_balanced_transfer_is_accepted(conn: Conn, account: Account) -> None:
    _transfer(conn, account, "dep-1", wallet="-100.00", bank="100.00")
    balance = conn.execute(
        "SELECT sum(amount) FROM ledger_entries WHERE ledger_account_id = %s",
        (account.wallet_ledger_account_id,),
    ).fetchone()
    assert balance is not None
    assert str(balance[0]) == "-100.00000000"


def test_unbalanced_transfer_is_refused_at_commit(conn: Conn, account: Account) -> None:
    with pytest.raises(errors.CheckViolation, match="unbalanced"):
        _transfer(conn, account, "dep-1", wallet="-100.00", bank="99.99")
    assert conn.execute("SELECT count(*) FROM ledger_transfers").fetchone() == (0,)


def test_transfer_without_entries_is_refused(conn: Conn) -> None:
    with pytest.raises(errors.CheckViolation, match="unbalanced"):
        conn.execute(
            """INSERT INTO ledger_transfers (idempotency_key, currency, kind)
               VALUES ('empty', 'EUR', 'deposit')"""
        )


def test_transfer_idempotency_key_is_unique(conn: Conn, account: Account) -> None:
    _transfer(conn, account, "dep-1", wallet="-100.00", bank="100.00")
    with pytest.raises(errors.UniqueViolation):
        _transfer(conn, account, "dep-1", wallet="-100.00", bank="100.00")


def _cross_currency_transfer(conn: Conn, account: Account) -> None:
    """An EUR transfer with one leg on the broker's USD bank account."""
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO ledger_transfers (idempotency_key, currency, kind)
               VALUES ('fx', 'EUR', 'deposit') RETURNING id"""
        ).fetchone()
        assert row is not None
        conn.execute(
            """INSERT INTO ledger_entries (transfer_id, ledger_account_id, currency, amount)
               SELECT %s, id, 'EUR', 5 FROM ledger_accounts
               WHERE code = 'demo:client_money_bank:USD'
               UNION ALL SELECT %s, %s, 'EUR', -5""",
            (row[0], row[0], account.wallet_ledger_account_id),
        )


def test_entries_must_be_in_the_transfer_currency(conn: Conn, account: Account) -> None:
    with pytest.raises(errors.ForeignKeyViolation):
        _cross_currency_transfer(conn, account)


def test_ledger_is_immutable(conn: Conn, account: Account) -> None:
    _transfer(conn, account, "dep-1", wallet="-100.00", bank="100.00")
    with pytest.raises(errors.RestrictViolation):
        conn.execute("UPDATE ledger_entries SET amount = amount * 2")
    with pytest.raises(errors.RestrictViolation):
        conn.execute("DELETE FROM ledger_transfers")


def test_ib_tree_levels_and_depth_limit(conn: Conn) -> None:
    conn.execute("UPDATE brands SET ib_max_depth = 3")
    parent: int | None = None
    for depth in (1, 2, 3):
        row = conn.execute(
            """INSERT INTO ib_partners (brand_id, parent_id, referral_code, name)
               SELECT id, %s, %s, %s FROM brands RETURNING id, level""",
            (parent, f"ib-{depth}", f"IB {depth}"),
        ).fetchone()
        assert row is not None
        assert row[1] == depth
        parent = row[0]
    with pytest.raises(errors.CheckViolation, match="depth"):
        conn.execute(
            """INSERT INTO ib_partners (brand_id, parent_id, referral_code, name)
               SELECT id, %s, 'ib-4', 'IB 4' FROM brands""",
            (parent,),
        )
    # Moving the root under its own descendant would make a cycle.
    with pytest.raises(errors.CheckViolation, match="subtree"):
        conn.execute(
            "UPDATE ib_partners SET parent_id = %s WHERE referral_code = 'ib-1'", (parent,)
        )


def test_moving_an_ib_relevels_its_subtree(conn: Conn) -> None:
    ids: dict[str, int] = {}
    for code, parent in (("a", None), ("b", "a"), ("c", "b"), ("x", None)):
        row = conn.execute(
            """INSERT INTO ib_partners (brand_id, parent_id, referral_code, name)
               SELECT id, %s, %s, %s FROM brands RETURNING id""",
            (ids.get(parent or ""), code, code),
        ).fetchone()
        assert row is not None
        ids[code] = row[0]
    conn.execute("UPDATE ib_partners SET parent_id = %s WHERE id = %s", (ids["x"], ids["a"]))
    levels = dict(conn.execute("SELECT referral_code, level FROM ib_partners").fetchall())
    assert levels == {"x": 1, "a": 2, "b": 3, "c": 4}


def _audit(conn: Conn, entity_id: str, after: str) -> None:
    conn.execute(
        """INSERT INTO audit_log (actor_type, actor_id, action, entity_type, entity_id, after)
           VALUES ('staff', '7', 'update', 'account_group', %s, %s)""",
        (entity_id, after),
    )


def test_audit_log_is_hash_chained_and_tamper_evident(conn: Conn) -> None:
    for n in range(3):
        _audit(conn, str(n), f'{{"leverage": {30 + n}}}')
    chain = conn.execute("SELECT chain_seq, prev_hash, hash FROM audit_log ORDER BY chain_seq")
    rows = chain.fetchall()
    assert [seq for seq, _, _ in rows] == [1, 2, 3]
    assert all(prev == earlier[2] for (_, prev, _), earlier in zip(rows[1:], rows, strict=False))
    assert conn.execute("SELECT audit_log_first_broken()").fetchone() == (None,)

    with pytest.raises(errors.RestrictViolation):
        conn.execute("UPDATE audit_log SET after = '{}'")
    # Someone with the power to bypass the trigger edits history: the chain shows where.
    conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable")
    conn.execute("""UPDATE audit_log SET after = '{"leverage": 500}' WHERE chain_seq = 2""")
    assert conn.execute("SELECT audit_log_first_broken()").fetchone() == (2,)
