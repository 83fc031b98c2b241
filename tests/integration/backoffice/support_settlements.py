"""What the settlement-file tests share: a simulator's real report of today (UTC) as rows by
column, a report written back after rows were planted in it, a withdrawal paid out through the
real path (approved by finance, sent by the payout job, the PSP's callback applied), and an
import as finance does it with the exceptions it leaves open."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from backoffice.audit import Actor
from backoffice.errors import Refused
from backoffice.payments import withdrawals
from backoffice.payments.providers import providers
from backoffice.reconciliation import exceptions, settlements
from backoffice.reconciliation.exceptions import ReconException
from backoffice.scope import BrandScope
from brokerstack.settings import Settings
from tests.integration.backoffice.support_psp import apply_events, wait_delivered
from tests.integration.backoffice.support_staff import add_member, brand_id

Rows = list[dict[str, str]]


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def fetch_report(sim: str, headers: dict[str, str]) -> tuple[str, list[str], Rows]:
    """(the report's text, its columns, its rows): refused without the key or a date."""
    url = f"{sim}/v1/reports/settlement"
    assert httpx.get(url, params={"day": today()}).status_code == 401
    assert httpx.get(url, params={"day": "yesterday"}, headers=headers).status_code == 400
    answer = httpx.get(url, params={"day": today()}, headers=headers)
    assert (answer.status_code, answer.headers["content-type"][:8]) == (200, "text/csv"), \
        answer.text  # fmt: skip
    reader = csv.DictReader(io.StringIO(answer.text, newline=""))
    rows = list(reader)
    return answer.text, list(reader.fieldnames or []), rows


def written(columns: list[str], rows: Rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def no_limits(db: str, client_id: int) -> None:
    """The client at KYC level 2: no deposit limit, withdrawals allowed."""
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (client_id,))


def pay_out(api: str, sim: str, settings: Settings, db: str, auth: dict[str, str],
            body: dict[str, str], delivered: int) -> None:  # fmt: skip
    """A withdrawal asked for by the client, approved by finance, sent and paid."""
    asked = httpx.post(f"{api}/v1/portal/withdrawals", headers=auth, json=body)
    assert asked.status_code == 201, asked.text
    demo = BrandScope.of(brand_id(db, "demo"))
    checker = add_member(db, ["finance"], [brand_id(db, "demo")])
    known = providers(settings)
    with psycopg.connect(db) as conn:
        withdrawals.approve(conn, Actor.staff(checker.id), demo, asked.json()["withdrawal_id"])
        assert withdrawals.send_approved(conn, known) == 1
    for provider in known.values():
        provider.close()
    wait_delivered(sim, delivered)
    apply_events(settings, db)
    shown = httpx.get(f"{api}/v1/portal/withdrawals/{asked.json()['withdrawal_id']}",
                      headers=auth).json()  # fmt: skip
    assert shown["status"] == "paid"


def import_file(
    db: str, provider: str, filename: str, body: bytes
) -> tuple[settlements.Imported, list[ReconException]]:
    """Finance imports the file: the import's answer and every open exception."""
    finance = add_member(db, ["finance"], [brand_id(db, "demo")])
    with psycopg.connect(db) as conn:
        done = settlements.import_settlement(conn, Actor.staff(finance.id), provider, filename,
                                             body)  # fmt: skip
        return done, exceptions.queue(conn, BrandScope.every_brand())


def found_in(db: str, provider: str, body: bytes, rows: int) -> dict[str, ReconException]:
    """Import a planted file of ``rows`` rows: the exceptions it opened (one of each kind)."""
    done, found = import_file(db, provider, "planted.csv", body)
    assert (done.rows, done.already) == (rows, False)
    assert done.exceptions == len(found) == len({e.kind for e in found})
    return {e.kind: e for e in found}


def again_adds_nothing(db: str, provider: str, report: str, open_now: int) -> None:
    """The PSP's own report imported after the planted one opens no exception of its own."""
    assert import_file(db, provider, "report.csv", report.encode())[0].exceptions == 0
    assert count(db, "SELECT count(*) FROM recon_exceptions") == open_now


def count(db: str, query: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def refused_whole(db: str, provider: str, body: bytes, line: int) -> str:
    """The file is refused as bad at ``line`` and nothing of it is kept; the reason."""
    with pytest.raises(Refused) as refused:
        import_file(db, provider, "bad.csv", body)
    assert (refused.value.code, refused.value.details["line"]) == ("bad_file", line)
    assert count(db, "SELECT count(*) FROM recon_files") == 0
    assert count(db, "SELECT count(*) FROM settlement_rows") == 0
    return refused.value.message
