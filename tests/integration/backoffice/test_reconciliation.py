"""Reconciliation of the card PSP's settlement file: deposits made through the real path (the
api, the simulator's hosted page, its signed webhooks, the worker's round), the day's report
fetched from the simulator, then exceptions planted in it. The expected exceptions are the
test's own list of what it planted; everything else in the file is clean."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import httpx
import psycopg
import pytest

from backoffice.audit import Actor
from backoffice.errors import Refused
from backoffice.reconciliation import exceptions, settlements
from backoffice.scope import BrandScope
from brokerstack.settings import Settings
from tests.integration.api.support import Party
from tests.integration.backoffice.support_settlements import count
from tests.integration.backoffice.support_staff import add_member, brand_id
from tests.integration.backoffice.test_card_deposits import (  # noqa: F401 (world: a fixture)
    _paid_deposit,
    token,
    world,
)


def report(sim: str) -> str:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    answer = httpx.get(f"{sim}/v1/reports/settlement", params={"day": day},
                       headers={"Authorization": "Bearer sk_test_simulator"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.text


def intents(db: str, client_id: int) -> list[str]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            """SELECT psp_payment_id FROM payments WHERE client_id = %s
                               AND status = 'succeeded' ORDER BY id""",
            (client_id,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_planted_exceptions_are_found_and_nothing_else(
    world: tuple[str, str, Settings, Party],  # noqa: F811 (the fixture imported above)
    seeded_db_url: str,
) -> None:
    api, sim, settings, client = world
    auth = token(api, client)
    for number, amount in enumerate(("100.00", "120.00", "75.50", "60.00", "250.00", "99.99")):
        _paid_deposit(api, sim, settings, seeded_db_url, auth, amount, f"d{number}", number + 1)
    a, b, c, d, *clean = intents(seeded_db_url, client.client_id)
    assert len(clean) == 2
    original = report(sim)
    lines = original.strip().split("\r\n")
    header, rows = lines[0], lines[1:]
    assert header.split(",")[:4] == ["balance_transaction_id", "created_utc",
                                     "reporting_category", "source_id"]  # fmt: skip
    assert len(rows) == 6
    assert all(r.split(",")[2] == "charge" for r in rows)
    by_source = {r.split(",")[3]: r.split(",") for r in rows}

    planted = [by_source[x] for x in (b, c, d, *clean)]  # a: left out (missing at the PSP)
    planted[0][4:7] = ["130.00", by_source[b][5], f"{D('130.00') - D(by_source[b][5]):f}"]
    planted[1][7] = "eur"  # c: settled in another currency
    when = by_source[d][1]
    refund = ["txn_planted_refund", when, "refund", d, "-60.00", "0.00", "-60.00", "usd"]
    stranger = ["txn_planted_charge", when, "charge", "pi_nobody_knows", "42.00", "1.52",
                "40.48", "usd"]  # fmt: skip
    body = "\r\n".join([header, *(",".join(r) for r in (*planted, refund, stranger))]) + "\r\n"

    finance = add_member(seeded_db_url, ["finance"], [brand_id(seeded_db_url, "demo")])
    actor = Actor.staff(finance.id)
    with psycopg.connect(seeded_db_url) as conn:
        done = settlements.import_settlement(conn, actor, "card-sim", "planted.csv",
                                             body.encode())  # fmt: skip
        found = exceptions.queue(conn, BrandScope.every_brand())
    assert (done.rows, done.exceptions, done.already) == (7, 5, False)
    assert {(e.kind, e.source_id) for e in found} == {
        ("missing_at_psp", a), ("amount_differs", b), ("currency_differs", c),
        ("status_differs", d), ("missing_here", "pi_nobody_knows"),
    }  # fmt: skip
    differs = next(e for e in found if e.kind == "amount_differs")
    assert (differs.ours["amount"], differs.theirs["gross"]) == ("120.00", "130.00")

    # the same file again: its first import's answer, nothing added; the PSP's clean
    # report of the same day finds only what it lacks (a is in it now: nothing)
    with psycopg.connect(seeded_db_url) as conn:
        again = settlements.import_settlement(conn, actor, "card-sim", "copy.csv", body.encode())
        clean_import = settlements.import_settlement(conn, actor, "card-sim", "report.csv",
                                                     original.encode())  # fmt: skip
    assert (again.file_id, again.already, again.exceptions) == (done.file_id, True, 0)
    assert clean_import.exceptions == 0
    assert count(seeded_db_url, "SELECT count(*) FROM recon_exceptions") == 5
    assert count(seeded_db_url, "SELECT count(*) FROM settlement_rows") == 7 + 6


def test_a_bad_file_is_refused_whole_and_resolving_needs_a_reason_once(
    world: tuple[str, str, Settings, Party],  # noqa: F811
    seeded_db_url: str,
) -> None:
    api, sim, settings, client = world
    auth = token(api, client)
    _paid_deposit(api, sim, settings, seeded_db_url, auth, "100.00", "only", 1)
    good = report(sim)
    finance = add_member(seeded_db_url, ["finance"], [brand_id(seeded_db_url, "demo")])
    actor = Actor.staff(finance.id)
    bad = good + "txn_x,2026-12-02 10:00:00,charge,pi_x,lots,0.00,lots,usd\r\n"
    with psycopg.connect(seeded_db_url) as conn:
        with pytest.raises(Refused) as refused:
            settlements.import_settlement(conn, actor, "card-sim", "bad.csv", bad.encode())
        conn.rollback()
        assert refused.value.code == "bad_file"
        assert refused.value.details["line"] == 3
        with pytest.raises(Refused) as unknown:
            settlements.import_settlement(conn, actor, "nobody-psp", "x.csv", good.encode())
        conn.rollback()
        assert unknown.value.code == "unknown_provider"
    assert count(seeded_db_url, "SELECT count(*) FROM recon_files") == 0
    assert count(seeded_db_url, "SELECT count(*) FROM settlement_rows") == 0

    # the good file lacks nothing; a copy without its one row misses the deposit at the PSP
    header = good.split("\r\n")[0] + "\r\n"
    demo = BrandScope.of(brand_id(seeded_db_url, "demo"))
    with psycopg.connect(seeded_db_url) as conn:
        assert settlements.import_settlement(conn, actor, "card-sim", "good.csv",
                                             good.encode()).exceptions == 0  # fmt: skip
        # an empty report covers no day: nothing can be missing from it
        assert settlements.import_settlement(conn, actor, "card-sim", "empty.csv",
                                             header.encode()).exceptions == 0  # fmt: skip
        refund = good.strip().split("\r\n")[1].split(",")
        refund[0], refund[2], refund[4:7] = "txn_r", "refund", ["-100.00", "0.00", "-100.00"]
        settlements.import_settlement(conn, actor, "card-sim", "refund.csv",
                                      (header + ",".join(refund) + "\r\n").encode())  # fmt: skip
        (open_one,) = exceptions.queue(conn, demo)
        assert open_one.kind == "status_differs"
        with pytest.raises(Refused) as no_reason:
            exceptions.resolve(conn, actor, demo, open_one.id, "   ")
        assert no_reason.value.code == "reason_required"
        other = BrandScope.of(brand_id(seeded_db_url, "demo") + 999)
        with pytest.raises(Refused) as elsewhere:
            exceptions.resolve(conn, actor, other, open_one.id, "not mine")
        assert elsewhere.value.code == "not_found"
        conn.rollback()
        done = exceptions.resolve(conn, actor, demo, open_one.id, "refund booked by the PSP "
                                  "after our cut; refund event applied")  # fmt: skip
        assert (done.status, done.resolved_by) == ("resolved", finance.id)
        with pytest.raises(Refused) as twice:
            exceptions.resolve(conn, actor, demo, open_one.id, "again")
        assert twice.value.code == "already_resolved"
        conn.rollback()
        assert exceptions.queue(conn, demo) == []
        audited = conn.execute("""SELECT after->>'reason' FROM audit_log
                                  WHERE action = 'reconciliation.exception_resolved'""").fetchall()
    assert audited == [(done.resolution,)]
