"""Audit records as the back office writes them: who, what, before and after, chained."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

from backoffice.audit import Actor, record


def test_a_record_keeps_who_what_before_and_after_and_extends_the_chain(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        first = record(conn, Actor.staff(7), "client.suspend", "client", 42,
                       {"status": "active"}, {"status": "suspended"})  # fmt: skip
        second = record(conn, Actor.system("worker"), "kyc.level", "client", 42,
                        {"kyc_level": 0},
                        {"kyc_level": 1, "limit": Decimal("2000.00"),
                         "on": dt.date(2026, 12, 1)})  # fmt: skip
        rows = conn.execute(
            """SELECT chain_seq, actor_type, actor_id, action, entity_type, entity_id, before,
                      after, prev_hash = lag(hash) OVER (ORDER BY chain_seq)
               FROM audit_log ORDER BY chain_seq"""
        ).fetchall()
        broken = conn.execute("SELECT audit_log_first_broken()").fetchone()
    assert second == first + 1
    assert rows[0][1:8] == ("staff", "7", "client.suspend", "client", "42",
                            {"status": "active"}, {"status": "suspended"})  # fmt: skip
    assert rows[1][7] == {"kyc_level": 1, "limit": "2000.00", "on": "2026-12-01"}
    assert rows[1][8] is True
    assert broken == (None,)
