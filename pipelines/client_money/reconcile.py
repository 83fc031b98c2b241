"""The daily client-money reconciliation: per brand and currency, what clients are owed
against what the client-money banks hold, stored immutably with its lines, an archive file
and the pipeline's preparer sign-off.

A reconciliation is never changed: a re-run whose facts (the lines and the money held) equal
the latest version's writes nothing; different facts, e.g. a corrected bank statement, make
the next version. Explanations and approvals are sign-offs appended later by staff.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from backoffice.reconciliation.client_money import Facts, Line, day_facts
from pipelines.client_money.statements import FileLoad, load_settlement_files
from pipelines.partitions import TradingDay, key_for, trading_day
from pipelines.resources import DataFolders
from warehouse.db import connect

PIPELINE_ACTOR = "pipeline"
_CENT_PLACES = Decimal("0.00000001")  # money_amount's scale: the archive prints every place
_LOCK_SPACE = 7_000_714  # pg advisory lock space of client-money runs, keyed by trade date


@dataclass(frozen=True, slots=True)
class Written:
    id: int
    brand: str
    currency: str
    version: int
    difference: Decimal
    status: str
    archive_path: str


@dataclass(frozen=True, slots=True)
class DayReconciliation:
    trade_date: date
    files: list[FileLoad]
    written: list[Written]
    unchanged: int
    unvalued_accounts: int


def reconcile_day(
    warehouse_url: str, folders_root: str | os.PathLike[str], trade_date: date
) -> DayReconciliation:
    """Load new bank statements, then reconcile every brand and currency of the trade date."""
    folders = DataFolders(root=str(folders_root))
    with connect(warehouse_url) as conn:
        files = load_settlement_files(conn, folders.settlements)
        conn.commit()  # a loaded statement stays loaded whatever the reconciliation does
        return reconcile(conn, folders, trading_day(key_for(trade_date)), files)


def reconcile(
    conn: psycopg.Connection[Any], folders: DataFolders, day: TradingDay, files: list[FileLoad]
) -> DayReconciliation:
    """Reconcile one trading day in one transaction (concurrent runs of a day queue)."""
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_SPACE, day.trade_date.toordinal())
        )
        facts = day_facts(conn, day.trade_date, day.cut)
        brands = dict(conn.execute("SELECT id, code FROM brands").fetchall())
        written: list[Written] = []
        unchanged = 0
        for (brand_id, currency), book in sorted(facts.by_book.items()):
            previous = _latest(conn, brand_id, currency, day.trade_date)
            if previous is not None and previous[1] == _fingerprint(book):
                unchanged += 1
                continue
            version = 1 if previous is None else previous[0] + 1
            written.append(_store(conn, folders, day, brands[brand_id], book, version))
    return DayReconciliation(day.trade_date, files, written, unchanged, facts.unvalued_accounts)


_Facts = tuple[Decimal, tuple[tuple[int, Decimal, Decimal], ...]]


def _fingerprint(book: Facts) -> _Facts:
    """What a version stands for: the money held and each client's figures."""
    lines = tuple(sorted((ln.client_id, ln.wallets, ln.trading_equity) for ln in book.lines))
    return book.held, lines


def _latest(
    conn: psycopg.Connection[Any], brand_id: int, currency: str, trade_date: date
) -> tuple[int, _Facts] | None:
    row = conn.execute(
        """SELECT id, version, held FROM client_money_reconciliations
           WHERE brand_id = %s AND currency = %s AND trade_date = %s
           ORDER BY version DESC LIMIT 1""",
        (brand_id, currency, trade_date),
    ).fetchone()
    if row is None:
        return None
    lines = conn.execute(
        """SELECT client_id, wallets, trading_equity FROM client_money_lines
           WHERE reconciliation_id = %s ORDER BY client_id""",
        (row[0],),
    ).fetchall()
    return row[1], (row[2], tuple((c, w, t) for c, w, t in lines))


def _store(
    conn: psycopg.Connection[Any],
    folders: DataFolders,
    day: TradingDay,
    brand: str,
    book: Facts,
    version: int,
) -> Written:
    target = folders.archive / "client_money" / brand / day.trade_date.isoformat()
    target /= f"{book.currency}-v{version}.csv"
    relative = target.relative_to(folders.root)  # stored so: the data root may move
    content = archive_text(brand, book, day.trade_date, day.cut, version).encode()
    _write_atomically(target, content)
    inserted = conn.execute(
        """INSERT INTO client_money_reconciliations (brand_id, currency, trade_date, version,
               entitlement, held, difference, status, archive_path, archive_sha256)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            book.brand_id,
            book.currency,
            day.trade_date,
            version,
            book.entitlement,
            book.held,
            book.difference,
            book.status,
            relative.as_posix(),
            hashlib.sha256(content).hexdigest(),
        ),
    ).fetchone()
    assert inserted is not None  # RETURNING always gives the row
    rec_id = inserted[0]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO client_money_lines (reconciliation_id, client_id, wallets,
                                               trading_equity, entitlement)
               VALUES (%s, %s, %s, %s, %s)""",
            [
                (rec_id, ln.client_id, ln.wallets, ln.trading_equity, ln.entitlement)
                for ln in book.lines
            ],
        )
    conn.execute(
        """INSERT INTO client_money_signoffs (reconciliation_id, role, staff_user_id, actor)
           VALUES (%s, 'preparer', NULL, %s)""",
        (rec_id, PIPELINE_ACTOR),
    )
    return Written(
        rec_id, brand, book.currency, version, book.difference, book.status, relative.as_posix()
    )


def archive_text(brand: str, book: Facts, trade_date: date, cut: datetime, version: int) -> str:
    """The archived reconciliation: a header block of totals, the bank accounts, the lines."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["field", "value"])
    for name, value in (
        ("brand", brand),
        ("currency", book.currency),
        ("trade_date", trade_date.isoformat()),
        ("cut", cut.isoformat()),
        ("version", str(version)),
        ("entitlement", _money(book.entitlement)),
        ("held", _money(book.held)),
        ("difference", _money(book.difference)),
        ("status", book.status),
        ("clients", str(len(book.lines))),
    ):
        w.writerow([name, value])
    w.writerow([])
    w.writerow(["bank_account", "closing_balance", "statement_file"])
    for bank in book.banks:
        w.writerow([bank.bank_account, _money(bank.balance), bank.file])
    w.writerow([])
    w.writerow(["client_id", "wallets", "trading_equity", "entitlement"])
    for line in sorted(book.lines, key=_client):
        w.writerow(
            [
                line.client_id,
                _money(line.wallets),
                _money(line.trading_equity),
                _money(line.entitlement),
            ]
        )
    return out.getvalue()


def _client(line: Line) -> int:
    return line.client_id


def _money(value: Decimal) -> str:
    return f"{value.quantize(_CENT_PLACES):f}"


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    partial.replace(path)
